"""One pass over the mirror: fetch -> parse -> extract -> clean -> store -> render.

Feeds run concurrently (fetch.py bounds the requests); parsing, extraction and cleaning run in
worker processes under each feed's time budget (workers.py). One feed's failure is recorded on
that feed and never stops the others; each finishing step (lists, feeds out, index, site) is
contained the same way. Order of effects, so that a pass killed at any point loses nothing and
duplicates nothing: entries are stored (marked `pending`) before their files are written, files
are written atomically, entries are marked written after, and a feed's ETag is saved only once
its entries are stored. The next pass writes whatever is still pending.

Bounds per feed and pass ([limits]): at most `max_items` new entries and `max_pages` article
pages; the rest wait in the state, oldest first, for the next passes (never dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from . import archive as files
from . import config as configuration
from . import decide, failures, revisions, tombstones
from .archive import FIRST_NUMBER, Archive
from .building import Builder
from .config import Config, FeedConfig
from .dates import display, iso, now_ms
from .fetch import FEED_ACCEPT, Fetcher, FetchError
from .identity import same_title
from .indexer import Indexer
from .model import ParsedEntry, new_entry
from .output import Output
from .revisions import FLIP, LIMIT, ReturnTo, Revise, Suppress, VersionKey, version_key
from .schedule import RETRY_AFTER_CAP, backoff, min_interval
from .store import DB_NAME, SEARCH_DB, EntryRow, FeedState, Store, WaitingRow, open_store
from .takedowns import Takedowns
from .workers import Budget, OverBudget, WorkerDied, Workers

if TYPE_CHECKING:  # parsing and cleaning are imported when a feed brings something: a no-change pass starts faster
    from .process import Candidate


@dataclass(slots=True)
class FeedResult:
    """What one pass did for one feed: the line `run` prints and the log records."""

    feed_id: str
    status: str = "unchanged"  # "new", "unchanged", "failed", "deferred"
    new: int = 0
    revised: int = 0  # articles given a new revision (the feed's text or the page changed)
    completed: int = 0  # partial articles completed from their page, in place
    removed: int = 0  # articles found removed at the source
    error: str | None = None
    until: int | None = None  # deferred: when the feed may be tried again (ms)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def updated(self) -> int:
        """Articles whose files were written again."""
        return self.revised + self.completed

    def line(self) -> str:
        if self.status == "failed":
            text = f"{self.feed_id}: failed: {self.error}"
        elif self.status == "deferred":
            text = f"{self.feed_id}: deferred: {self.error}"
        else:
            parts = [f"{n} {what}" for n, what in ((self.revised, "revised"), (self.completed, "completed"),
                                                    (self.removed, "removed")) if n]
            first = f"{self.new} new" if self.new else "nothing new" if parts else "unchanged"
            text = f"{self.feed_id}: {', '.join([first, *parts])}"
        return text + "".join(f" ({n})" for n in self.notes)


@dataclass
class PassReport:
    results: list[FeedResult]
    seconds: float = 0.0
    indexed: int = 0  # articles (re)indexed for search, as they were written or after the pass...
    index_seconds: float = 0.0  # ...and how long the pass waited for it at its end (included in `seconds`)
    notes: list[str] = field(default_factory=list)  # what the pass did besides the feeds (state rebuilt)
    problems: list[str] = field(default_factory=list)  # local failures: a finishing step, the disk, the state
    written: int = 0  # article files written

    @property
    def failed(self) -> list[FeedResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def deferred(self) -> list[FeedResult]:
        """Feeds not tried: they failed before and wait for their back-off or Retry-After."""
        return [r for r in self.results if r.status == "deferred"]

    @property
    def all_failed(self) -> bool:
        """Whether every feed tried failed, and at least one was tried: then the cause is
        likely this machine's reach (no network, a block), not the feeds."""
        tried = [r for r in self.results if r.status != "deferred"]
        return bool(tried) and all(r.status == "failed" for r in tried)

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    def total(self, zone: tzinfo) -> str:
        """The pass in one line; times (the end of a deferral) in `zone`, the display zone."""
        counts = ", ".join(f"{sum(getattr(r, what) for r in self.results)} {what}" for what in ("revised", "completed", "removed"))
        total = f"{len(self.results)} feeds: {self.new} new articles, {counts}, {len(self.failed)} failed"
        if deferred := self.deferred:  # not failures of this pass, which tried nothing of them
            times = [r.until for r in deferred if r.until is not None]
            until = f"until {display(min(times), zone)}, " if times else ""
            total += f", {len(deferred)} deferred ({until}`--force` to try now)"
        return total

    def message(self) -> str:
        """The commit message for what this pass changed."""
        from .publish import message

        return message({r.feed_id: (r.new, r.updated) for r in self.results})


UNINDEXED = "unindexed"  # in the state folder from a pass's start until its articles are in the search index


def run_pass(archive: Archive, config: Config, only: Sequence[str] = (),
             on_result: Callable[[FeedResult], None] | None = None, force: bool = False,
             stop: threading.Event | None = None, writer: bool = False) -> PassReport:
    """One pass over the configured feeds (or those in `only`); the caller holds the lock.

    `force` ignores back-off and Retry-After; `stop`, when set, ends the pass early (what was
    stored is still written). `writer`: fetch nothing; write what workers stored (`newsmirror
    writer`, queueing.py), with the lists, feeds out, site and index as a pass does.
    """
    # Every enabled feed, in this one process (`newsmirror worker` spreads them: queueing.py, `store_feed`).
    feeds = [f for f in config.feeds if f.enabled and (not only or f.id in only)]
    started = time.monotonic()
    store = open_store(archive.state_dir, config.store.url)
    unindexed = archive.state_dir / UNINDEXED
    unsure = unindexed.exists()  # a pass before this one stopped before its articles were indexed
    unindexed.touch()
    indexer = Indexer(archive.state_dir, url=config.store.url)
    try:
        archive.sweep()
        notes = [note] if (note := restore_state(archive, store)) else []
        stones = tombstones.read(archive.root)
        if stones and (note := _purge(archive, config, store, stones)):
            notes.append(note)
        indexer.fresh = not store.has_entries()
        workers = Workers()
        try:
            work = (_Writer if writer else _Pass)(archive, config, store, workers, on_result, force, stones)
            if not unsure:  # else the end of the pass counts the index, and rebuilds it if short
                work.out.on_written = indexer.add
            results = asyncio.run(work.run(feeds, stop))
        finally:
            workers.close()
    finally:
        indexing = time.monotonic()
        early = set(indexer.close())
        store.close()
    indexed = len(early)
    try:
        indexed += index(archive, [i for i in work.out.written if i not in early], check=unsure, url=config.store.url)
        unindexed.unlink()
    except Exception as exc:  # a step of its own: the articles are written, the index is rebuilt next time
        work.problems.append(f"search index: {failures.reason(exc)}")
    return PassReport(results, time.monotonic() - started, indexed, time.monotonic() - indexing, notes, work.problems,
                      len(work.out.written))


def restore_state(archive: Archive, store: Store) -> str | None:
    """A missing state (archive.db deleted, `.newsmirror/` lost with a cold CI cache) in a folder
    that holds articles is rebuilt from the files first, as `reindex` does: a pass on an empty
    state would archive every article a second time under new numbers. So is a state whose
    rebuild did not finish (killed half-way: some feeds read back, others not)."""
    from .publish import unread

    if not unread(archive, store):
        return None
    from .reindex import reindex  # reindex uses this module's index()

    incomplete = store.incomplete()
    report = reindex(archive, store)
    return (f"state {'incomplete' if incomplete else 'missing'}: rebuilt from {sum(report.articles.values())} "
            "article files (as `newsmirror reindex` does)")


def _purge(archive: Archive, config: Config, store: Store, stones: tombstones.Tombstones) -> str | None:
    from .redact import purge  # git and search: imported only when the mirror has redactions

    return purge(archive, config, store, stones)


def index(archive: Archive, written: Sequence[int], rebuild: bool = False, check: bool = True,
          url: str | None = None) -> int:
    """Add the articles a pass wrote (entry ids) to the search index, or build it whole when
    it is missing, short, damaged or asked; the articles are streamed from the archive, oldest first.

    `check`: count both databases to find an index left short. A pass counts only after one that
    stopped before indexing (`UNINDEXED` left behind): the counts cost 0.1-1 s at 1,000,000
    articles, as much again each pass (bench/growth.py). An index emptied for another scheme
    is built again by the next pass with something new, or by the first search.

    `url`: [store] url. On PostgreSQL the index is tables beside the state, kept whole by the server."""
    if url is not None:
        return _index(archive, written, rebuild, check, url) if written or rebuild or check else 0
    if not written and not rebuild and (archive.state_dir / SEARCH_DB).exists() and (not check or _index_complete(archive)):
        return 0  # nothing new: not even opening the index (its fold table costs a tenth of a second)
    try:
        return _index(archive, written, rebuild, check)
    except Exception as exc:
        if not failures.damaged(exc):
            raise
    # Derived data: a damaged index is thrown away and built again from the archive.
    for suffix in ("", "-wal", "-shm"):
        (archive.state_dir / (SEARCH_DB + suffix)).unlink(missing_ok=True)
    return _index(archive, written, rebuild=True)


def _index(archive: Archive, written: Sequence[int], rebuild: bool, check: bool = True, url: str | None = None) -> int:
    from .search import (  # opencc: loaded only when something is indexed
        Doc,
        open_search,
    )

    store = open_store(archive.state_dir, url)
    try:
        with open_search(archive.state_dir, url) as search:
            if not rebuild and not search.empty():
                added = search.add(_docs(store.entries_by_id(written), Doc))
                if not check or search.count() >= store.count():
                    return added
                # Fewer documents than articles: a pass was killed before it indexed. Start over.
            return search.rebuild(_docs(store.all_entries(), Doc))
    finally:
        store.close()


def _index_complete(archive: Archive) -> bool:
    """Whether the search index holds a document for every article, by a count with plain SQLite
    (cheap): a pass killed after writing its articles but before indexing them left it short, and
    the passes after it that had nothing new never looked."""
    try:
        counts = []
        for name, table in ((SEARCH_DB, "docs"), (DB_NAME, "entries")):
            db = sqlite3.connect(f"file:{archive.state_dir / name}?mode=ro", uri=True)
            try:
                counts.append(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            finally:
                db.close()
    except sqlite3.Error:  # missing, or not what it should be: `index` builds it again
        return False
    return counts[0] >= counts[1]


def _docs(rows: Iterable[EntryRow], doc: type) -> Iterator:
    return (doc(r.feed_id, r.number, r.title, r.link, r.published, r.body) for r in rows)


class _Pass:
    output: type[Output] = Output  # what writes the pass's files

    def __init__(self, archive: Archive, config: Config, store: Store, workers: Workers,
                 on_result: Callable[[FeedResult], None] | None, force: bool,
                 stones: tombstones.Tombstones | None = None):
        self.archive = archive
        self.tombstones = stones or tombstones.Tombstones()
        self.config = config
        self.store = store
        self.workers = workers
        self.on_result = on_result or (lambda r: None)
        self.force = force
        self.fetcher: Fetcher
        self.carried: dict[str, set[int]] = {}  # per feed parsed in this pass: archived entries it still lists
        self.carried_waiting: dict[str, set[int]] = {}  # ...and the waiting entries it lists (those it added too)
        self.states = self.read_states()  # read once; saved together at the end of the pass
        self.unsaved: set[str] = set()
        self.work: dict[str, _Work] = {}  # per feed: what it may still use in this pass
        self.problems: list[str] = []  # local failures (disk, state, a finishing step), one line each
        self.held: set[str] = set()  # feeds with a change held back over the revisions a day
        self.out = self.output(archive, config, store, workers, self.state, self.save, self.step)
        self.builder: Builder  # with the fetcher, in run()
        self.takedowns: Takedowns | None = None

    async def run(self, feeds: list[FeedConfig], stop: threading.Event | None) -> list[FeedResult]:
        self.step("articles", self.out.write_pending)  # what a killed pass stored but did not write
        return await self.finish(await self.fetch(feeds, stop))

    async def fetch(self, feeds: list[FeedConfig], stop: threading.Event | None) -> list[FeedResult]:
        """Each feed's fetch, parse, extract, clean and store (and its files, unless `_Stored`)."""
        async with Fetcher(self.config.fetch) as self.fetcher:
            self.builder = Builder(self.archive, self.config, self.store, self.workers, self.fetcher,
                                   lambda feed: self.budget(feed).time)
            self.takedowns = Takedowns(self.config, self.store, self.workers, self.fetcher, self.carried,
                                       self.builder.extracted, lambda feed: self.budget(feed).time, self.change)
            self.step("takedown checks", self.takedowns.plan, feeds)
            tasks = [asyncio.create_task(self.feed(f)) for f in feeds]
            watcher = asyncio.create_task(_cancel_when(stop, tasks)) if stop else None
            done = await asyncio.gather(*tasks, return_exceptions=True)
            if watcher:
                watcher.cancel()
            return [r if isinstance(r, FeedResult) else FeedResult(f.id, "failed", error="stopped")
                    for f, r in zip(feeds, done)]

    async def finish(self, results: list[FeedResult]) -> list[FeedResult]:
        """What a pass does once its feeds are done: the files still pending, README, feeds out, site."""
        # The finishing steps, each contained: one that fails is reported, the others still run.
        self.step("feed states", self.flush)
        self.step("articles", self.out.write_pending)
        self.step("README and feeds/all", self.out.write_readme)
        errors = await self.out.settle()
        self.step("feed states", self.flush)  # a re-published feed that could not be written is rendered again
        self.problems.extend(f"{name}: {error}" for name, error in errors.items())
        for feed_id, error in errors.items():
            result = next((r for r in results if r.feed_id == feed_id), None)
            if result is not None:
                result.status, result.error = "failed", error
        if self.config.site:
            from .render.site import build

            self.step("site", build, self.archive, self.config, self.store)
        self.step("sync", files.sync)
        return results

    def step(self, name: str, fn: Callable[..., object], *args: object) -> None:
        """Run one finishing step; a failure is reported in one line and the pass goes on."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"{name}: {failures.reason(exc)}")

    # --- feed state --------------------------------------------------------------------------

    def read_states(self) -> dict[str, FeedState]:
        return self.store.feeds()

    def state(self, feed_id: str) -> FeedState:
        return self.states.get(feed_id) or FeedState(feed_id)

    def save(self, state: FeedState) -> None:
        """Remember a feed's new state; written with the others in one transaction (`flush`).
        A pass killed before that costs only a refetch: entries are stored before, on their own."""
        self.states[state.id] = state
        self.unsaved.add(state.id)

    def flush(self) -> None:
        self.store.save_feeds(self.states[i] for i in sorted(self.unsaved))
        self.unsaved.clear()

    # --- one feed ----------------------------------------------------------------------------

    async def feed(self, feed: FeedConfig) -> FeedResult:
        result = FeedResult(feed.id)
        started = time.monotonic()
        try:
            await self._feed(feed, result)
        except (OverBudget, WorkerDied) as exc:  # what the feed sent: the feed fails, and backs off
            self._failed(feed, self.state(feed.id), FetchError(str(exc)), result)
        except failures.LOCAL_ERRORS as exc:  # this machine's failure: no back-off, reported for the pass
            result.status, result.error = "failed", f"local error: {failures.reason(exc)}"
            self.problems.append(f"{feed.id}: {failures.reason(exc)}")
        except Exception as exc:  # noqa: BLE001  one feed's surprise must not stop the others: record it
            result.status, result.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            self._failed(feed, self.state(feed.id), FetchError(result.error), result)
        await self.recheck(feed, result)
        result.seconds = time.monotonic() - started
        self.on_result(result)
        return result

    def budget(self, feed: FeedConfig) -> _Work:
        """What the feed may still use in this pass: worker time, pages, new items."""
        if feed.id not in self.work:
            limits = self.config.limits
            self.work[feed.id] = _Work(Budget(self.config.work_seconds), limits.max_pages, limits.max_items)
        return self.work[feed.id]

    async def _feed(self, feed: FeedConfig, result: FeedResult) -> None:
        now = now_ms()
        state = self.state(feed.id)
        if state.url and state.url != feed.url:  # the user changed the URL: its history no longer applies
            state = FeedState(feed.id, title=state.title)
        if state.disabled:
            result.status, result.error = "failed", f"disabled: {state.disabled} (change its url to enable it again)"
            return
        if not self.force and state.errors and state.next_attempt and state.next_attempt > now:
            result.status, result.until = "deferred", state.next_attempt
            result.error = (f"until {display(state.next_attempt, self.config.display.zone)} after {state.errors} failure"
                            f"{'s' if state.errors > 1 else ''} (last: {state.last_error})")
            return
        state = replace(state, url=feed.url, last_attempt=now)
        try:
            response = await self.fetcher.get(
                feed.url, self.config.fetch.max_feed_bytes, etag=state.etag, last_modified=state.last_modified,
                headers=feed.headers, proxy=feed.proxy, accept=FEED_ACCEPT)
        except FetchError as exc:
            self._failed(feed, state, exc, result)
            return
        if response.moved_to and response.moved_to != feed.url:
            self._moved(feed, response.moved_to, result)
            state = replace(state, url=response.moved_to)
        work = self.budget(feed)
        carried_waiting: set[int] | None = None  # unknown unless the document was read in this pass
        if not response.not_modified:
            digest = hashlib.sha256(response.content).hexdigest()
            if digest != state.body_hash:  # a server that ignores conditional requests costs no parsing
                from .parse import NotAFeed
                from .process import FeedJob, prepare

                job = FeedJob(feed.id, response.content, response.url, response.content_type,
                              self.config.timezone_for(feed), feed.full_text, self.config.images_for(feed),
                              self.archive.state_dir, now_ms(), work.items, self.config.limits.max_article_bytes,
                              self.config.store.url)
                try:
                    prepared = await self.workers.run(prepare, job, budget=work.time)
                except NotAFeed as exc:
                    self._failed(feed, state, FetchError(str(exc)), result)
                    return
                if prepared.warning:
                    result.notes.append(prepared.warning)
                self.carried[feed.id] = set(prepared.carried)
                if prepared.learned:
                    self.store.learn((row.id, guid, body) for row, guid, body in prepared.learned)
                    self.out.learned(feed.id, prepared.learned)
                carried_waiting = self.carried_waiting[feed.id] = set(prepared.carried_waiting)
                self.wait(feed.id, (_waiting_row(feed.id, c, job.now) for c in prepared.backlog))
                work.items -= len(prepared.new)
                result.new = await self.store_new(feed, prepared.new, job.now, result)
                result.revised += await self.store_changed(feed, prepared.changed, job.now)
                self.store.remember_feed_hashes(prepared.seen)
                state = replace(state, title=prepared.title or state.title,
                                min_interval=min_interval(prepared.ttl_minutes, response.headers.get("cache-control")))
            state = replace(state, etag=response.headers.get("etag"),
                            last_modified=response.headers.get("last-modified"), body_hash=digest)
            if feed.id in self.held:  # read the same document again next pass: the change is compared again
                state = replace(state, etag=None, last_modified=None, body_hash=None)
        result.new += await self.complete_waiting(feed, carried_waiting, result)
        result.completed += await self.retry_partial(feed)
        if waiting := self.store.waiting_count(feed.id):
            result.notes.append(f"{waiting:,} waiting for the next passes: over {self.config.limits.max_items:,} "
                                f"new items or {self.config.limits.max_pages:,} pages a pass")
        result.status = "new" if result.new else "unchanged"
        self.save(replace(state, last_success=now_ms(), last_error=None, errors=0, next_attempt=None))
        self.out.write_feed(feed)

    def _failed(self, feed: FeedConfig, state: FeedState, exc: FetchError, result: FeedResult) -> None:
        """Record the failure: 410 disables the feed, 429/503 wait as asked, others back off."""
        result.status, result.error = "failed", str(exc)
        errors = state.errors + 1
        now = now_ms()
        if exc.status == 410:
            state = replace(state, disabled=f"HTTP 410 Gone on {iso(now)}")
        elif exc.retry_after is not None:
            state = replace(state, next_attempt=now + int(min(exc.retry_after, RETRY_AFTER_CAP) * 1000))
        else:
            state = replace(state, next_attempt=now + int(backoff(errors) * 1000))
        self.save(replace(state, last_error=str(exc), errors=errors))
        self.out.write_feed(feed)

    def _moved(self, feed: FeedConfig, new_url: str, result: FeedResult) -> None:
        """A permanent redirect: the configuration follows the feed to its new address."""
        if self.config.path is not None:
            try:
                configuration.set_feed_key(self.config.path, feed.id, "url", new_url)
            except configuration.ConfigError:  # an address the configuration would refuse: keep the old one
                result.notes.append(f"moved permanently to {new_url}, an address the configuration refuses;"
                                    " configuration left as it is")
                return
            result.notes.append(f"moved permanently to {new_url}; configuration updated")
        else:
            result.notes.append(f"moved permanently to {new_url}")

    # --- entries -----------------------------------------------------------------------------

    async def store_new(self, feed: FeedConfig, new: list[Candidate], now: int, result: FeedResult) -> int:
        """Store new entries (oldest first), numbered below the smallest number in use; returns how
        many. Those that want their page get one while the feed's page budget lasts: from the
        first that does not, it and every younger one wait for a later pass (numbers keep to the
        order of age). An entry whose page is done is stored at once."""
        new = self.unredacted(feed, new, result)
        new = self.unshared(feed, new, now, result)  # before building: no page fetched for a shared article
        from .process import within_pages

        work = self.budget(feed)
        go, wait = within_pages(new, work.pages)
        self.wait(feed.id, (_waiting_row(feed.id, c, now) for c in wait if c.waiting is None))
        if not go:
            return 0
        work.pages -= sum(c.wants_page for c in go)
        numbered = list(zip(go, range(self.next_number(feed.id), -1, -1)))
        ready = [(c, n) for c, n in numbered if not c.wants_page]
        done: set[int] = set()  # id() of the candidates stored (or listed as another feed's)
        try:
            await self.builder.build(feed, [c for c, _ in ready if c.body is None], now)
            stored = self.store_built(feed, ready, now, result, done)
            outcomes = await asyncio.gather(*(self.store_paged(feed, c, n, now, result, done) for c, n in numbered
                                              if c.wants_page), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome  # after every page is settled: those done are stored
                stored += outcome
        except BaseException:
            # Over the feed's budget, a worker lost, the pass stopped: the entries taken but not
            # stored wait for a later pass (by then the feed may no longer carry them).
            self.wait(feed.id, (_waiting_row(feed.id, c, now) for c in go if c.waiting is None and id(c) not in done))
            raise
        return stored

    def wait(self, feed_id: str, rows: Iterable[dict]) -> None:
        """Keep entries for a later pass. Those of the document read in this pass are carried by
        it: completed later in this same pass, they are not taken for entries it dropped (which
        are written with the feed's text, without their page)."""
        ids = self.store.add_waiting(rows)
        if feed_id in self.carried_waiting:
            self.carried_waiting[feed_id].update(ids)

    async def store_paged(self, feed: FeedConfig, c: Candidate, number: int, now: int, result: FeedResult,
                          done: set[int]) -> int:
        """Fetch the candidate's page, build it and store it under its number."""
        await self.builder.build(feed, [c], now)
        return self.store_built(feed, [(c, number)], now, result, done)

    def store_built(self, feed: FeedConfig, pairs: list[tuple[Candidate, int]], now: int, result: FeedResult,
                    done: set[int] | None = None) -> int:
        """Store built candidates under their numbers (and out of the waiting table) and start
        writing their files; returns how many were stored. `done` gains the id() of each
        candidate stored, or listed as another feed's article."""
        handled = [id(c) for c, _ in pairs]
        pairs = [(c, n) for c, n in pairs  # a page may show a redacted body; another feed may have stored it
                 if self.unredacted(feed, [c], result) and self.unshared(feed, [c], now, result)]
        if not pairs:
            if done is not None:
                done.update(handled)
            return 0
        rows = []
        for c, number in pairs:
            e = c.entry
            assert c.body is not None and c.hash is not None  # built
            rows.append(new_entry(
                feed.id, number, guid=e.guid, link=e.link or "", canonical=c.canonical, title=e.title,
                published=e.published if e.published is not None else now, first_seen=now, body=c.body,
                source_hash=c.hash, from_page=c.from_page, partial=c.partial, feed_hash=c.feed_hash,
                body_key=c.body_key))
        added = self.store.add_entries(rows, done_waiting=[c.waiting for c, _ in pairs if c.waiting is not None])
        if done is not None:
            done.update(handled)
        return self.out.write_rows(added, fresh=True)

    async def complete_waiting(self, feed: FeedConfig, carried: set[int] | None, result: FeedResult) -> int:
        """Complete the oldest entries waiting from earlier passes, within what the feed may still
        take in this pass. One the feed no longer carries is written with the feed's own text."""
        work = self.budget(feed)
        if work.items <= 0:
            return 0
        rows = self.store.waiting(feed.id, work.items)
        if not rows:
            return 0
        candidates = [_from_waiting(r, gone=carried is not None and r.id not in carried) for r in rows]
        work.items -= len(candidates)
        now = now_ms()
        await self.builder.build(feed, [c for c in candidates if not c.wants_page], now)
        return await self.store_new(feed, candidates, now, result)

    def unredacted(self, feed: FeedConfig, new: list[Candidate], result: FeedResult) -> list[Candidate]:
        """The candidates that are no redacted article (tombstones.py): those that are are never
        archived again, under the same guid, a moved link or a new guid with the same body."""
        if not self.tombstones:
            return new
        keep: list[Candidate] = []
        dropped: list[Candidate] = []
        for c in new:
            hit = self.tombstones.match(c.entry.guid, c.canonical, tombstones.text_hash(c.body))
            (dropped if hit else keep).append(c)
        if dropped:
            self.store.drop_waiting([c.waiting for c in dropped if c.waiting is not None])
            result.notes.append(f"{len(dropped)} redacted, not archived again")
        return keep

    def unshared(self, feed: FeedConfig, new: list[Candidate], now: int, result: FeedResult) -> list[Candidate]:
        """With dedupe = "mirror", the candidates another feed already archived are listed, not stored."""
        if self.config.dedupe_for(feed) != "mirror":
            return new
        keep = []
        for c in new:
            k = decide.Keys(c.entry.guid, c.canonical, c.body_key, c.feed_hash or "")
            if other := decide.elsewhere(k, self.store.elsewhere(feed.id, c.canonical, c.body_key)):
                self.store.share(feed.id, other.id, now, done_waiting=c.waiting)
                self.out.shared.add(feed.id)
                result.notes.append(f"shares {other.feed_id}/{other.number}")
            else:
                keep.append(c)
        return keep

    async def store_changed(self, feed: FeedConfig, changed: list[Candidate], now: int) -> int:
        """Archived entries the feed now tells differently: a new revision when what a reader
        reads changed (title or body text), else only the new feed hash is remembered. Pages are
        fetched for those that want one while the feed's page budget lasts; the others are
        compared on a later pass (their feed hash stays as it was)."""
        work = self.budget(feed)
        unbuilt = [c for c in changed if c.body is None]
        paged = [c for c in unbuilt if c.wants_page][:max(0, work.pages)]
        work.pages -= len(paged)
        await self.builder.build(feed, [c for c in unbuilt if not c.wants_page] + paged, now)
        revised = 0
        for c in changed:
            row = c.existing
            assert row is not None
            if c.body is None:
                continue  # over the page budget: next pass
            assert c.hash is not None
            if c.wants_page and not c.from_page:
                self.store.update_entry(row.id, feed_hash=c.feed_hash)  # no page to compare with
                continue
            if row.source_hash == "" or (c.hash == row.source_hash and same_title(c.entry.title, row.title)):
                # Nothing a reader sees changed, or a read-back page-built article whose extractor
                # was another: this build becomes the baseline later builds are compared with.
                self.store.update_entry(row.id, feed_hash=c.feed_hash, source_hash=c.hash)
                continue
            revised += self.change(row, c.entry.title, c.body, c.hash, c.feed_hash, now, c.body_key)
        return revised

    def next_number(self, feed_id: str) -> int:
        """Below the smallest number already used, in the database or on disk.

        The folder is read only when the database knows no article of the feed (it may hold
        another mirror's files) or the next file is there already: every file a pass or a
        rebuild read is in the database, and reading a folder of 5,000 articles for each feed
        with something new made a pass at 1,000,000 articles cost seconds more than at 10,000."""
        known = min((n for n in (self.store.min_number(feed_id), self.tombstones.min_number(feed_id)) if n is not None),
                    default=None)  # a redacted article's number is never given to another
        if known is not None and not self.archive.article_path(feed_id, known - 1).exists():
            return known - 1
        used = [n for n in (known, min(self.archive.numbers_on_disk(feed_id), default=None)) if n is not None]
        return min(used) - 1 if used else FIRST_NUMBER

    async def retry_partial(self, feed: FeedConfig) -> int:
        """Try again the pages earlier passes could not have, while the feed's page budget lasts;
        update those articles in place."""
        work = self.budget(feed)
        rows = self.store.retry_partial(feed.id, self.config.page_retries)[:max(0, work.pages)]
        if not rows:
            return 0
        work.pages -= len(rows)
        from .process import Candidate

        candidates = [Candidate(ParsedEntry(title=r.title, guid=r.guid, link=r.link or None, published=r.published,
                                            summary=r.body), wants_page=True) for r in rows]
        await self.builder.build(feed, candidates, now_ms())
        for row, c in zip(rows, candidates):
            if c.from_page:
                self.store.update_entry(row.id, pending=True, body=c.body, from_page=1, partial=0, source_hash=c.hash)
            else:
                self.store.update_entry(row.id, page_attempts=row.page_attempts + 1)
        return sum(c.from_page for c in candidates)

    async def recheck(self, feed: FeedConfig, result: FeedResult) -> None:
        """The feed's takedown re-checks, after the feed (what it still lists is known), counted
        on its line; a failure here is the pass's problem, not the feed's."""
        if self.takedowns is None:
            return
        try:
            removed, revised = await self.takedowns.recheck(feed)
            result.removed += removed
            result.revised += revised
            if removed:
                self.out.write_feed(feed, force=True)  # a removed marker to show
        except Exception as exc:  # noqa: BLE001  a step of its own
            self.problems.append(f"takedown checks: {failures.reason(exc)}")

    # --- revisions ---------------------------------------------------------------------------

    def change(self, row: EntryRow, title: str, body: str, digest: str, feed_hash: str | None, now: int,
               body_key: str | None = None) -> bool:
        """Apply the churn rules (revisions.decide) to a changed article: True when it got a
        new revision. A change held back over the daily limit keeps the old feed hash (and its
        feed is read again next pass, 304 or not), so that it is compared again on later passes
        and archived once the day's revisions allow. `body_key`: of the feed's text, when it
        told the change."""
        earlier = self.store.revisions(row.id)
        versions = [*(VersionKey(version_key(r.title, r.body), r.replaced_at) for r in earlier),
                    VersionKey(version_key(row.title, row.body))]
        decision = revisions.decide(versions, version_key(title, body), now, self.config.revisions.max_per_day,
                          self.store.suppressed(row.id).get(FLIP, 0))
        if isinstance(decision, Revise):
            self.store.revise(row, title, body, digest, feed_hash, now)
        elif isinstance(decision, ReturnTo):
            self.store.return_to(row, earlier[decision.index].id, title, body, digest, feed_hash, now)
        elif decision.reason == LIMIT:
            self.held.add(row.feed_id)
        else:
            self.store.update_entry(row.id, feed_hash=feed_hash)
        if not isinstance(decision, Suppress) and body_key is not None:
            self.store.update_entry(row.id, body_key=body_key)  # twins are found by the body it has now
        if not isinstance(decision, Revise):
            reason = decision.reason if isinstance(decision, Suppress) else FLIP
            self.store.count_suppressed(row.id, reason, digest, now)
        return isinstance(decision, Revise)


class _Writer(_Pass):
    """`newsmirror writer`: the pass of the one process that touches the folder. It fetches
    nothing: it writes the entries workers stored (pending), in order, and every list, feed out
    and README they change. Feed states are the workers'; it saves only what it rendered."""

    async def run(self, feeds: list[FeedConfig], stop: threading.Event | None) -> list[FeedResult]:
        if self.tombstones:
            self.step("redactions", self.forget_redacted)
        self.step("articles", self.out.write_pending)
        for feed in feeds:
            self.step(f"{feed.id} list", self.out.write_feed, feed)
        return await self.finish([])

    async def finish(self, results: list[FeedResult]) -> list[FeedResult]:
        results = await super().finish(results)
        # Entries stored while the lists were rendered were written by `finish`, after their
        # lists: these are rendered by the next pass.
        for feed_id in self.out.unlisted:
            self.save(replace(self.state(feed_id), rendered=None))
        self.step("feed states", self.flush)
        return results

    def forget_redacted(self) -> None:
        """Workers have no folder, so no redaction record (redactions.json): what they stored again
        of a redacted article (same guid, link or body) is forgotten here, before anything of it
        is written."""
        from .redact import forget

        rows = [r for r in self.store.pending()
                if self.tombstones.match(r.guid, r.canonical, tombstones.text_hash(r.body))]
        if rows:
            for feed_id in sorted(forget(self.archive, self.store, rows)):
                self.save(replace(self.state(feed_id), rendered=None))

    def flush(self) -> None:
        self.store.save_rendered((i, self.states[i].rendered) for i in sorted(self.unsaved))
        self.unsaved.clear()


class _Stored(Output):
    """A worker's output (`newsmirror worker`, which may have no folder): nothing is written.
    Entries stay stored `pending`, the hand-off to the writer, which writes them and their lists."""

    def write_rows(self, rows: list[EntryRow], fresh: bool = False) -> int:
        return len(rows)

    def write_feed(self, feed: FeedConfig, force: bool = False) -> None:
        pass

    def learned(self, feed_id: str, learned: list[tuple[EntryRow, str, str | None]]) -> None:
        pass  # the guid is in the database; the identity index file is the writer's (rebuilt by reindex)


class _Fetching(_Pass):
    """A worker's pass: its feeds' fetch, parse, extract, clean and store; no file written."""

    output = _Stored

    def __init__(self, *args: Any, feed: FeedConfig, **kwargs: Any):
        self.feed_id = feed.id
        super().__init__(*args, **kwargs)

    def read_states(self) -> dict[str, FeedState]:
        return {self.feed_id: self.store.feed(self.feed_id)}  # its one feed: a job reads no other's state

    def flush(self) -> None:
        self.store.save_feeds((self.states[i] for i in sorted(self.unsaved)), rendered=False)  # the writer's part stays
        self.unsaved.clear()


async def store_feed(archive: Archive, config: Config, store: Store, workers: Workers, feed: FeedConfig) -> FeedResult:
    """A worker's job: the feed's fetch, parse, extract, clean and store, as a pass does it, and
    its state saved. Its files are the writer's: the entries are left pending for it."""
    work = _Fetching(archive, config, store, workers, None, False, feed=feed)
    [result] = await work.fetch([feed], None)
    work.flush()
    return result


@dataclass(slots=True)
class _Work:
    """What one feed may still use in this pass ([limits])."""

    time: Budget  # worker time: parsing, extraction, cleaning
    pages: int  # article pages to fetch
    items: int  # new items to take


def _waiting_row(feed_id: str, c: Candidate, now: int) -> dict:
    """A candidate as a row of the waiting table: the entry as the feed gave it (or as already
    cleaned, which cleans again to itself)."""
    entry = c.entry if c.body is None else replace(c.entry, content=c.body, summary=None)
    return {"feed_id": feed_id, "guid": entry.guid, "canonical": c.canonical, "feed_hash": c.feed_hash, "body_key": c.body_key,
            "age": entry.published if entry.published is not None else now, "wants_page": int(c.wants_page),
            "entry": json.dumps(asdict(entry), ensure_ascii=False), "first_seen": now}


def _from_waiting(row: WaitingRow, gone: bool) -> Candidate:
    """A waiting entry as a candidate again; one the feed no longer carries takes no page."""
    from .process import Candidate

    return Candidate(ParsedEntry(**json.loads(row.entry)), wants_page=bool(row.wants_page) and not gone,
                     feed_hash=row.feed_hash, canonical=row.canonical, waiting=row.id, body_key=row.body_key)


async def _cancel_when(stop: threading.Event, tasks: list[asyncio.Task]) -> None:
    """Cancel the feeds still at work once `stop` is set (a signal): each feed's stored entries
    are safe at any await point, and the pass writes them before it returns."""
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()


