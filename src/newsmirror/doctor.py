"""`newsmirror doctor`: is this mirror able to do its job? For a scheduled alert.

Checks the configuration, the state database, each feed's reachability through its own
proxy (fetched and parsed now), each feed's health, the git remotes when publishing is
configured, and free disk. Any FAIL makes the command exit non-zero.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass

from . import failures
from .archive import Archive
from .config import Config
from .dates import now_ms
from .fetch import Fetcher, FetchError
from .health import problems
from .parse import NotAFeed, parse
from .pipeline import FEED_ACCEPT
from .store import SEARCH_DB, Store, open_store

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
        store = open_store(archive.state_dir, config.store.url)
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
    return [*found, *(remotes or []), disk(archive)]
