"""`newsmirror doctor`: is this mirror able to do its job? For a scheduled alert.

Checks the configuration, the state database, each feed's reachability through its own
proxy (fetched and parsed now), each feed's health, the git remotes when publishing is
configured, whether each mirror address answers (a warning only), and free disk. Any FAIL makes the command exit non-zero.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass

from . import failures
from .archive import Archive
from .config import Config, Mirror
from .dates import now_ms
from .fetch import Fetcher, FetchError
from .health import problems
from .parse import NotAFeed, parse
from .pipeline import FEED_ACCEPT
from .store import SEARCH_DB, Store

MIN_FREE_BYTES = 1024**3  # below this a month of articles and images may not fit


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn", "FAIL"
    detail: str = ""


def disk(archive: Archive) -> Check:
    usage = shutil.disk_usage(archive.root)
    detail = f"{usage.free / 1024**3:.1f} GiB free of {usage.total / 1024**3:.0f} GiB"
    if usage.free < MIN_FREE_BYTES or usage.free < usage.total * 0.02:
        return Check("disk", "FAIL", detail)
    return Check("disk", "warn" if usage.free < usage.total * 0.1 else "ok", detail)


async def _reach(config: Config) -> list[Check]:
    async with Fetcher(config.fetch) as fetcher:
        async def one(feed) -> Check:
            try:
                response = await fetcher.get(feed.url, config.fetch.max_feed_bytes, headers=feed.headers,
                                             proxy=feed.proxy, accept=FEED_ACCEPT)
                parsed = parse(response.content, response.url, response.content_type)
            except (FetchError, NotAFeed) as exc:
                return Check(f"feed {feed.id}", "FAIL", str(exc))
            via = f" via {feed.proxy or config.fetch.proxy}" if (feed.proxy or config.fetch.proxy) else ""
            return Check(f"feed {feed.id}", "ok", f"{len(parsed.entries)} entries{via}")
        return list(await asyncio.gather(*(one(f) for f in config.feeds if f.enabled)))


async def _answers(fetcher: Fetcher, mirror: Mirror, max_bytes: int) -> Check:
    """HEAD the address, then GET it when the server answered HEAD with an error (some refuse
    HEAD); bounded by [fetch] timeout, max_redirects and `max_bytes`. A warning, never a
    failure: from behind a block some copies will not answer."""
    name = f"mirror {mirror.name}"
    try:
        try:
            await fetcher.get(mirror.url, max_bytes, method="HEAD")
        except FetchError as exc:
            if exc.status is None:  # no answer at all: a GET would get none either
                raise
            await fetcher.get(mirror.url, max_bytes)
    except FetchError as exc:
        return Check(name, "warn", f"{mirror.url}: {exc}")
    return Check(name, "ok", f"{mirror.url} answers")


def mirrors(config: Config) -> list[Check]:
    """Whether each http(s) mirror address answers (a `git@` one is for git, not for a browser:
    `git ls-remote` would need the host's keys; it is listed as not checked)."""
    async def all_of() -> list[Check]:
        async with Fetcher(config.fetch) as fetcher:
            addresses = (m for m in config.publish.mirrors if m.linked)
            return list(await asyncio.gather(*(_answers(fetcher, m, config.fetch.max_page_bytes) for m in addresses)))
    linked = asyncio.run(all_of()) if any(m.linked for m in config.publish.mirrors) else []
    return [*linked, *(Check(f"mirror {m.name}", "ok", f"{m.url}: not checked (only http(s) addresses are)")
                       for m in config.publish.mirrors if not m.linked)]


def integrity(archive: Archive, store: Store) -> str | None:
    """What is wrong with the state or search database, read whole (a damaged page in the middle
    of a file goes unnoticed by a pass that never reads it); None when both are sound."""
    fix = f"`newsmirror --archive {archive.root} reindex` rebuilds it from the files"
    try:
        if not store.sound():
            return f"{store.path} is damaged; {fix}"
    except sqlite3.DatabaseError as exc:
        return f"{store.path} is damaged ({exc}); {fix}"
    search = archive.state_dir / SEARCH_DB
    if search.exists():
        try:
            with closing(sqlite3.connect(f"file:{search}?mode=ro", uri=True)) as db:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    return f"{search} is damaged; {fix}"
        except sqlite3.DatabaseError as exc:
            return f"{search} is damaged ({exc}); {fix}"
    return None


def checks(archive: Archive, config: Config, remotes: list[Check] | None = None) -> list[Check]:
    """Every check, in the order the table shows them."""
    found = [Check("configuration", "ok", f"{archive.config_path}: {len(config.feeds)} feeds")]
    try:
        store = Store(archive.state_dir)
    except Exception as exc:  # the database is what doctor is asked to judge: report, don't crash
        return [*found, Check("state", "FAIL", failures.advice(exc, archive.root)), disk(archive)]
    try:
        if problem := integrity(archive, store):
            return [*found, Check("state", "FAIL", problem), disk(archive)]
        states, now = store.feeds(), now_ms()
        found.append(Check("state", "ok", f"{store.path} ({sum(store.counts().values())} articles)"))
        reach = asyncio.run(_reach(config))
        for feed, check in zip([f for f in config.feeds if f.enabled], reach):
            found.append(check)
            for problem in problems(states.get(feed.id), store.published(feed.id), now):
                found.append(Check(f"feed {feed.id}", "warn", problem))
    finally:
        store.close()
    return [*found, *(remotes or []), *mirrors(config), disk(archive)]
