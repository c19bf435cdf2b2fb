"""Takedown re-checks: recent articles' pages fetched again, within the pass's budget.

A page that answers 404/410, or that now redirects elsewhere while the feed no longer lists it,
was removed at the source: the article stays archived, marked removed. A page-built article
whose page changed gets a new revision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from . import failures, urls
from .config import Config, FeedConfig
from .dates import now_ms
from .fetch import PAGE_ACCEPT, Fetcher, FetchError, Response, is_html
from .model import Extracted, ParsedEntry
from .process import Candidate, compose, finish
from .store import EntryRow, Store
from .workers import Budget, Workers

DAY = 24 * 3600 * 1000
RECHECK_MIN_AGE = 3600 * 1000  # an article is first re-checked an hour after it was archived...
RECHECK_EVERY = 6 * 3600 * 1000  # ...and then at most every six hours


class Takedowns:
    """The re-checks of one pass. `carried`: per feed parsed in this pass, the ids of the
    archived entries its document still lists; `extracted` extracts a fetched page (in a worker);
    `budget` is a feed's time budget in this pass."""

    def __init__(self, config: Config, store: Store, workers: Workers, fetcher: Fetcher, carried: dict[str, set[int]],
                 extracted: Callable[[FeedConfig, Response], Awaitable[tuple[Extracted, str] | None]],
                 budget: Callable[[FeedConfig], Budget]):
        self.config = config
        self.store = store
        self.workers = workers
        self.fetcher = fetcher
        self.carried = carried
        self.extracted = extracted
        self.budget = budget


    async def recheck(self, feeds: list[FeedConfig]) -> list[FeedConfig]:
        """Re-fetch recent articles' pages, within the pass's budget: a page that answers 404/410,
        or that now redirects elsewhere while the feed no longer lists it, was removed at the
        source; a page-built article whose page changed gets a new revision. Returns the feeds
        whose list pages need rewriting."""
        days, budget = self.config.takedown_days, self.config.takedown_budget
        if not days or not budget or not feeds:
            return []
        now = now_ms()
        by_id = {f.id: f for f in feeds}
        rows = self.store.to_recheck(list(by_id), since=now - int(days * DAY), older_than=now - RECHECK_MIN_AGE,
                                     checked_before=now - RECHECK_EVERY, limit=budget)
        removed = await asyncio.gather(*(self.recheck_one(by_id[r.feed_id], r, now) for r in rows),
                                       return_exceptions=True)
        for outcome in removed:
            if isinstance(outcome, failures.LOCAL_ERRORS):
                raise outcome
        # A page that overran its feed's budget is checked again on a later pass.
        return [by_id[i] for i in sorted({r.feed_id for r, gone in zip(rows, removed) if gone is True})]

    async def recheck_one(self, feed: FeedConfig, row: EntryRow, now: int) -> bool:
        """True when the article turned out removed at the source."""
        try:
            response = await self.fetcher.get(row.link, self.config.fetch.max_page_bytes, headers=feed.headers,
                                              proxy=feed.proxy, accept=PAGE_ACCEPT)
        except FetchError as exc:
            gone = exc.status in (404, 410)
            self.store.update_entry(row.id, checked_at=now, removed_at=now if gone else row.removed_at)
            return gone
        elsewhere = urls.canonical(response.url) != row.canonical
        if elsewhere and feed.id in self.carried and row.id not in self.carried[feed.id]:
            self.store.update_entry(row.id, checked_at=now, removed_at=now)
            return True
        self.store.update_entry(row.id, checked_at=now)
        if row.from_page and not elsewhere and is_html(response):
            await self.reextract(feed, row, response, now)
        return False

    async def reextract(self, feed: FeedConfig, row: EntryRow, response: Response, now: int) -> None:
        """An edit made on the page of a page-built article becomes a revision."""
        page = await self.extracted(feed, response)
        if page is None:
            return
        entry = ParsedEntry(title=row.title, link=row.link, published=row.published)
        c = Candidate(entry, wants_page=False)
        c.body, base, c.from_page = compose(entry, page, feed.url, now)
        ((cleaned, digest),) = await self.workers.run(finish, [(c.body, base)], self.config.images_for(feed), None, None,
                                                      self.config.limits.max_article_bytes, budget=self.budget(feed))
        if row.source_hash == "":
            self.store.update_entry(row.id, source_hash=digest)
        elif digest != row.source_hash:
            self.store.revise(row, row.title, cleaned, digest, row.feed_hash, now)
