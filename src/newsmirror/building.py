"""Building entries' bodies: the article pages they want fetched and extracted, their images
copied or their proxies chosen when asked, and the bodies cleaned — the CPU work in a worker,
on the feed's time budget."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .archive import Archive
from .config import Config, FeedConfig
from .encoding import decode
from .fetch import PAGE_ACCEPT, Fetcher, FetchError, Response, is_html
from .model import Extracted, ParsedEntry
from .store import Store
from .workers import Budget, Workers

if TYPE_CHECKING:  # extraction and cleaning are imported when there is something to build
    from .process import Candidate


@dataclass
class Builder:
    """`budget`: a feed's time budget in this pass."""

    archive: Archive
    config: Config
    store: Store
    workers: Workers
    fetcher: Fetcher
    budget: Callable[[FeedConfig], Budget]

    async def build(self, feed: FeedConfig, candidates: list[Candidate], now: int) -> None:
        """Fetch the pages the candidates want, copy images when asked, and clean their bodies
        (in a worker, on the feed's time budget)."""
        if not candidates:
            return
        from .clean import image_urls
        from .media import choose_proxies, localize
        from .process import compose, finish

        pages = await asyncio.gather(*(self.page(feed, c.entry) if c.wants_page else _none() for c in candidates))
        items = []
        for c, page in zip(candidates, pages):
            body, base, c.from_page = compose(c.entry, page, feed.url, now)
            c.partial = c.wants_page and page is None
            items.append((body, base))
        images = self.config.images_for(feed)
        local = choices = None
        if images.mode == "local" or (images.mode == "proxy" and images.fallbacks):
            found = [u for body, base in items for u in image_urls(body, base)]
            if images.mode == "local":
                copies = await localize(found, self.archive.root, self.store, self.fetcher, self.config.fetch, images, now)
                local = {url: "../../" + path for url, path in copies.items()}  # relative to articles/<feed>/
            else:
                choices = await choose_proxies(found, self.store, self.fetcher, self.config.fetch, images, now)
        built = await self.workers.run(finish, items, images, local, choices, self.config.limits.max_article_bytes,
                                       budget=self.budget(feed))
        for c, (body, digest) in zip(candidates, built):
            c.body, c.hash = body, digest

    async def page(self, feed: FeedConfig, entry: ParsedEntry) -> tuple[Extracted, str] | None:
        """The extracted article page, or None when it cannot be had (the entry stays partial)."""
        try:
            response = await self.fetcher.get(entry.link or "", self.config.fetch.max_page_bytes, headers=feed.headers,
                                              proxy=feed.proxy, accept=PAGE_ACCEPT)
        except FetchError:
            return None
        return await self.extracted(feed, response)

    async def extracted(self, feed: FeedConfig, response: Response) -> tuple[Extracted, str] | None:
        """The article a fetched page holds (extracted in a worker, on the feed's time budget)."""
        if not is_html(response):
            return None
        from .extract import extract

        text = decode(response.content, response.content_type, html=True)
        extracted = await self.workers.run(extract, text, response.url, feed.rules, budget=self.budget(feed))
        return (extracted, response.url) if extracted else None


async def _none() -> None:
    return None
