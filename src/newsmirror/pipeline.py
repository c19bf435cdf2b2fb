"""One pass over the mirror: fetch -> parse -> extract -> clean -> store -> render.

Feeds run concurrently; one feed's failure is recorded on that feed and never stops the
others. Order of effects, so that a pass killed at any point loses nothing and duplicates
nothing: entries are stored (marked `pending`) before their files are written, files are
written atomically, entries are marked written after, and a feed's ETag is saved only once its
entries are stored. The next pass writes whatever is still pending.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from . import archive as files
from . import urls
from .archive import FIRST_NUMBER, Archive
from .clean import clean
from .config import Config, FeedConfig
from .encoding import decode
from .extract import extract, header_block, needs_page
from .fetch import Fetcher, FetchError
from .identity import normalized_text, order_new, unique, content_hash
from .images import rewriter
from .model import Article, FeedResult, ParsedEntry
from .parse import NotAFeed, parse
from .render import markdown
from .store import EntryRow, FeedState, Store

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PassReport:
    results: list[FeedResult]

    @property
    def failed(self) -> list[FeedResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    def total(self) -> str:
        return (f"{len(self.results)} feeds: {self.new} new articles, "
                f"{sum(r.updated for r in self.results)} updated, {len(self.failed)} failed")


def run_pass(archive: Archive, config: Config, only: Sequence[str] = (),
             on_result: Callable[[FeedResult], None] | None = None) -> PassReport:
    """Run one pass over the configured feeds (or those in `only`); the caller holds the lock."""
    store = Store(archive.state_dir)
    try:
        return asyncio.run(_Pass(archive, config, store, on_result).run(only))
    finally:
        store.close()


class _Pass:
    def __init__(self, archive: Archive, config: Config, store: Store,
                 on_result: Callable[[FeedResult], None] | None):
        self.archive = archive
        self.config = config
        self.store = store
        self.on_result = on_result or (lambda r: None)
        self.fetcher: Fetcher

    async def run(self, only: Sequence[str]) -> PassReport:
        feeds = [f for f in self.config.feeds if f.enabled and (not only or f.id in only)]
        self.write_pending()  # what a killed pass stored but did not write
        async with Fetcher(self.config.fetch) as self.fetcher:
            results = await asyncio.gather(*(self.feed(f) for f in feeds))
        self.write_readme()
        files.sync()
        return PassReport(list(results))

    # --- one feed ----------------------------------------------------------------------------

    async def feed(self, feed: FeedConfig) -> FeedResult:
        result = FeedResult(feed.id)
        try:
            await self._feed(feed, result)
        except Exception as exc:  # one feed's surprise must not stop the others: record it
            result.status, result.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            self._failed(feed, self.store.feed(feed.id), result.error)
        self.on_result(result)
        return result

    async def _feed(self, feed: FeedConfig, result: FeedResult) -> None:
        state = replace(self.store.feed(feed.id), url=feed.url, last_attempt=now_ms())
        if state.disabled:
            result.status, result.error = "failed", f"disabled: {state.disabled}"
            return
        try:
            response = await self.fetcher.get(
                feed.url, self.config.fetch.max_feed_bytes, etag=state.etag, last_modified=state.last_modified,
                headers=feed.headers, proxy=feed.proxy, accept=FEED_ACCEPT)
        except FetchError as exc:
            result.status, result.error = "failed", str(exc)
            self._failed(feed, state, result.error)
            return
        if not response.not_modified:
            digest = hashlib.sha256(response.content).hexdigest()
            if digest != state.body_hash:
                tz = self.config.timezone_for(feed)
                try:
                    parsed = await asyncio.to_thread(parse, response.content, response.url, response.content_type, tz)
                except NotAFeed as exc:
                    result.status, result.error = "failed", str(exc)
                    self._failed(feed, state, result.error)
                    return
                result.new = await self.store_new(feed, parsed.entries)
                state = replace(state, title=parsed.title or state.title)
            state = replace(state, etag=response.headers.get("etag"),
                            last_modified=response.headers.get("last-modified"), body_hash=digest)
        result.updated = await self.retry_partial(feed)
        result.status = "new" if result.new else "unchanged"
        self.store.save_feed(replace(state, last_success=now_ms(), last_error=None, errors=0))
        self.write_feed(feed)

    def _failed(self, feed: FeedConfig, state: FeedState, reason: str) -> None:
        self.store.save_feed(replace(state, last_error=reason, errors=state.errors + 1))
        self.write_feed(feed)

    # --- entries -----------------------------------------------------------------------------

    async def store_new(self, feed: FeedConfig, entries: Sequence[ParsedEntry]) -> int:
        """Store the entries never seen before in this feed; returns how many."""
        fresh = []
        for entry in unique(entries):
            canonical = urls.canonical(entry.link) if entry.link else None
            if self.store.find(feed.id, entry.guid, canonical) is None:
                fresh.append(entry)
        if not fresh:
            return 0
        now = now_ms()
        built = dict(zip(map(id, fresh), await asyncio.gather(*(self.build(feed, e, now) for e in fresh))))
        number = self.next_number(feed.id)
        rows = []
        for entry in order_new(fresh, now):
            body, from_page, partial = built[id(entry)]
            rows.append({
                "feed_id": feed.id, "number": number, "guid": entry.guid, "link": entry.link or "",
                "canonical": urls.canonical(entry.link) if entry.link else None,
                "title": entry.title, "published": entry.published if entry.published is not None else now,
                "first_seen": now, "body": body, "source_hash": content_hash(entry.title, body),
                "from_page": from_page, "partial": partial, "page_attempts": int(partial), "pending": 1,
                "removed_at": None,
            })
            number -= 1
        self.store.add_entries(rows)
        return len(rows)

    def next_number(self, feed_id: str) -> int:
        """Below the smallest number already used, in the database or on disk."""
        used = [n for n in (self.store.min_number(feed_id), min(self.archive.numbers_on_disk(feed_id), default=None))
                if n is not None]
        return min(used) - 1 if used else FIRST_NUMBER

    async def build(self, feed: FeedConfig, entry: ParsedEntry, now: int, mode: str | None = None) -> tuple[str, bool, bool]:
        """(cleaned body, built from the page, page wanted but not had) for one entry."""
        raw = entry.content or entry.summary or ""
        base = entry.link or feed.url
        from_page = partial = False
        if needs_page(entry, mode or feed.full_text):
            page = await self.page(feed, entry.link or "")
            if page is None:
                partial = True
            else:
                extracted, page_url = page
                if len(normalized_text(extracted.body)) >= len(normalized_text(raw)):
                    published = entry.published if entry.published is not None else (extracted.published or now)
                    raw = header_block(published, extracted.lead_image or entry.image, extracted.caption) + extracted.body
                    base, from_page = page_url, True
        body = await asyncio.to_thread(clean, raw, base, rewriter(self.config.images_for(feed)))
        return body, from_page, partial

    async def page(self, feed: FeedConfig, url: str):
        """The extracted article page, or None when it cannot be had (the entry stays partial)."""
        try:
            response = await self.fetcher.get(url, self.config.fetch.max_page_bytes, headers=feed.headers,
                                              proxy=feed.proxy, accept=PAGE_ACCEPT)
        except FetchError:
            return None
        kind = response.content_type.split(";")[0].strip().lower()
        if kind and "html" not in kind and not kind.startswith("text/"):
            return None
        text = decode(response.content, response.content_type, html=True)
        extracted = await asyncio.to_thread(extract, text, response.url, feed.rules)
        return (extracted, response.url) if extracted else None

    async def retry_partial(self, feed: FeedConfig) -> int:
        """Try again the pages earlier passes could not have; update those articles in place."""
        rows = self.store.retry_partial(feed.id, self.config.page_retries)
        updated = 0
        for row in rows:
            entry = ParsedEntry(title=row.title, guid=row.guid, link=row.link or None, published=row.published,
                                summary=row.body)
            body, from_page, partial = await self.build(feed, entry, row.first_seen, mode="always")
            if from_page:
                self.store.update_entry(row.id, body=body, from_page=1, partial=0, pending=1)
                updated += 1
            else:
                self.store.update_entry(row.id, page_attempts=row.page_attempts + 1)
        return updated

    # --- files -------------------------------------------------------------------------------

    def write_pending(self, feed_id: str | None = None) -> None:
        rows = [r for r in self.store.pending() if feed_id is None or r.feed_id == feed_id]
        for row in rows:
            files.write(self.archive.article_path(row.feed_id, row.number), markdown.article(_article(row)))
        self.store.mark_written(r.id for r in rows)

    def list_title(self, feed: FeedConfig) -> str:
        return feed.title or self.store.feed(feed.id).title or feed.id

    def write_feed(self, feed: FeedConfig) -> None:
        """The feed's new articles and its list page."""
        self.write_pending(feed.id)
        title = self.list_title(feed)
        rows = self.store.entries(feed.id, limit=markdown.LIST_SIZE)
        files.write(self.archive.list_path(title), markdown.list_page(title, feed.id, map(_article, rows)))

    def write_readme(self) -> None:
        titles = [self.list_title(f) for f in self.config.feeds]
        names = [self.archive.list_path(t).stem for t in titles]
        files.write(self.archive.root / "README.md", markdown.readme(titles, names))


def _article(row: EntryRow) -> Article:
    return Article(row.feed_id, row.number, row.title, row.link, row.published, row.body, row.removed_at)
