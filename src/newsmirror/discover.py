"""What a URL given to `add` turns out to be: a feed, or a web page naming its feeds.

Readers know the address of a site more often than that of its feed. A page names its feeds
as browsers and feed readers find them, `<link rel="alternate" type="application/rss+xml"
href="...">`; `add` offers those instead of adding a page that every pass would fail on.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import urls
from .encoding import decode
from .htmltokens import Tag, is_tag, split, tag_name
from .parse import NotAFeed, parse

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})
MAX_FEED_LINKS = 20  # a page naming more is listed no further: a reader picks one by hand


@dataclass(frozen=True, slots=True)
class Found:
    """A feed (with its own title), or why not, with the feeds a page names."""

    feed: bool = False
    title: str | None = None
    problem: str | None = None  # completes "URL ...": "answered HTTP 404 Not Found", "is not a feed: ..."
    feeds: tuple[str, ...] = ()


def examine(content: bytes, url: str, content_type: str) -> Found:
    """What a fetched document is: a feed, or a page and the feeds it names."""
    try:
        return Found(feed=True, title=parse(content, url, content_type).title)
    except NotAFeed as exc:
        reason = str(exc)
    feeds = feed_links(decode(content, content_type, html=True), url)
    if feeds:
        return Found(problem=f"is a page naming {len(feeds)} feed{'s' if len(feeds) > 1 else ''}", feeds=feeds)
    return Found(problem=f"is {reason}")


def feed_links(page: str, base: str, most: int = MAX_FEED_LINKS) -> tuple[str, ...]:
    """The http(s) feeds a page's `<link rel="alternate">` tags name, resolved against `base`,
    each once, in order, at most `most`. One pass over the page's pieces (a script's text is
    no tag)."""
    found: dict[str, None] = {}
    for piece in split(page):
        if not (is_tag(piece) and tag_name(piece) == "link"):
            continue
        tag = Tag.parse(piece)
        kind = (tag.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in (tag.get("rel") or "").lower().split() and kind in FEED_TYPES:
            if href := urls.http_url(base, tag.get("href") or ""):
                found[href] = None
                if len(found) == most:
                    break
    return tuple(found)
