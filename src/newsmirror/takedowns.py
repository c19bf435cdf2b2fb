"""Takedown re-checks: recent articles' pages fetched again, within the pass's budget.

A page that answers 404/410, or that now redirects elsewhere while the feed no longer lists it,
was removed at the source: the article stays archived, marked removed. A page-built article
whose page changed may get a new revision (the revision rules: revisions.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import failures, urls
from .config import Config, FeedConfig
from .dates import now_ms
from .fetch import PAGE_ACCEPT, Fetcher, FetchError, Response, is_html
from .model import Extracted, ParsedEntry
from .store import EntryRow, Store
from .workers import Budget, Workers

DAY = 24 * 3600 * 1000
RECHECK_MIN_AGE = 3600 * 1000  # an article is first re-checked an hour after it was archived...
RECHECK_EVERY = 6 * 3600 * 1000  # ...and then at most every six hours


REMOVED, REVISED = "removed", "revised"  # what re-checking an article's page found

# Apply a changed version to an archived article (the revision rules): True when it got a new revision.
Change = Callable[[EntryRow, str, str, str, "str | None", int], bool]


@dataclass
class Takedowns:
    """The re-checks of one pass: planned for all feeds at its start (`plan`, least recently
    checked first, within `takedown_budget`), done per feed after the feed (`recheck`).
    `carried`: per feed parsed in this pass, the ids of the archived entries its document still
    lists; `extracted` extracts a fetched page (in a worker); `budget` is a feed's time budget in
    this pass; `change` applies a changed version."""

    config: Config
    store: Store
    workers: Workers
    fetcher: Fetcher
    carried: dict[str, set[int]]
    extracted: Callable[[FeedConfig, Response], Awaitable[tuple[Extracted, str] | None]]
    budget: Callable[[FeedConfig], Budget]
    change: Change
    planned: dict[str, list[EntryRow]] = field(default_factory=dict)

    def plan(self, feeds: list[FeedConfig]) -> None:
        days, budget = self.config.takedown_days, self.config.takedown_budget
        if not days or not budget or not feeds:
            return
        now = now_ms()
        for row in self.store.to_recheck([f.id for f in feeds], since=now - int(days * DAY),
                                         older_than=now - RECHECK_MIN_AGE, checked_before=now - RECHECK_EVERY,
                                         limit=budget):
            self.planned.setdefault(row.feed_id, []).append(row)

    async def recheck(self, feed: FeedConfig) -> tuple[int, int]:
        """Re-fetch the pages of the feed's articles planned for this pass; (removed, revised).
        A page that overran its feed's budget is checked again on a later pass; a local failure
        (disk, state) is raised."""
        rows = self.planned.pop(feed.id, [])
        if not rows:
            return 0, 0
        now = now_ms()
        outcomes = await asyncio.gather(*(self.recheck_one(feed, r, now) for r in rows), return_exceptions=True)
        if local := next((o for o in outcomes if isinstance(o, failures.LOCAL_ERRORS)), None):
            raise local
        return outcomes.count(REMOVED), outcomes.count(REVISED)

    async def recheck_one(self, feed: FeedConfig, row: EntryRow, now: int) -> str | None:
        """REMOVED when the article turned out removed at the source, REVISED when its page
        gave it a new revision."""
        try:
            response = await self.fetcher.get(row.link, self.config.fetch.max_page_bytes, headers=feed.headers,
                                              proxy=feed.proxy, accept=PAGE_ACCEPT)
        except FetchError as exc:
            gone = exc.status in (404, 410)
            self.store.update_entry(row.id, checked_at=now, removed_at=now if gone else row.removed_at)
            return REMOVED if gone else None
        elsewhere = urls.canonical(response.url) != row.canonical
        if elsewhere and feed.id in self.carried and row.id not in self.carried[feed.id]:
            self.store.update_entry(row.id, checked_at=now, removed_at=now)
            return REMOVED
        self.store.update_entry(row.id, checked_at=now)
        if row.from_page and not elsewhere and is_html(response) and await self.reextract(feed, row, response, now):
            return REVISED
        return None

    async def reextract(self, feed: FeedConfig, row: EntryRow, response: Response, now: int) -> bool:
        """An edit made on the page of a page-built article may become a revision (True)."""
        page = await self.extracted(feed, response)
        if page is None:
            return False
        from .process import Candidate, compose, finish  # cleaning: imported when a page changed

        entry = ParsedEntry(title=row.title, link=row.link, published=row.published)
        c = Candidate(entry, wants_page=False)
        c.body, base, c.from_page = compose(entry, page, feed.url, now)
        ((cleaned, digest),) = await self.workers.run(finish, [(c.body, base)], self.config.images_for(feed), None, None,
                                                      self.config.limits.max_article_bytes, budget=self.budget(feed))
        if row.source_hash == "":
            self.store.update_entry(row.id, source_hash=digest)
        elif digest != row.source_hash:
            return self.change(row, row.title, cleaned, digest, row.feed_hash, now)
        return False
