"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed) into ParsedFeed.

feedparser does the format work; this module decodes the bytes first (see encoding.py),
defuses entity declarations, and normalizes what comes out: stripped titles, absolute WHATWG
links, dates in milliseconds under the mirror's rule for zone-less dates, the body preferred
over the summary, and the entry's image.
"""

from __future__ import annotations

import calendar
import html
import re

import feedparser

from . import urls
from .dates import parse_date
from .encoding import decode
from .model import ParsedEntry, ParsedFeed

# An internal DTD subset that declares entities: the way to a billion-laughs or an external
# entity read. Feeds have no business declaring entities, so the subset is dropped.
_DOCTYPE_SUBSET = re.compile(r"<!DOCTYPE\s+[^\[>]*\[(?:[^\]]|\](?!\s*>))*\]\s*>", re.I)
_XML_DECL = re.compile(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']")
_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", re.I)


class NotAFeed(ValueError):
    """The document is not a feed; the message says what it is instead."""


def parse(data: bytes, url: str = "", content_type: str | None = None, timezone: str = "Asia/Shanghai") -> ParsedFeed:
    """Parse a fetched feed document; NotAFeed when it is none."""
    text = decode(data, content_type)
    text = _DOCTYPE_SUBSET.sub(lambda m: "<!DOCTYPE " + m.group(0)[10:].split("[", 1)[0].strip() + ">", text, count=1)
    text = _XML_DECL.sub(r"\1", text, count=1)
    is_json = "json" in (content_type or "") or text.lstrip().startswith("{")
    headers = {"content-type": "application/feed+json" if is_json else "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    d = feedparser.parse(text.encode("utf-8"), response_headers=headers,
                         sanitize_html=False, resolve_relative_uris=False)
    if not d.get("version") and not d.entries:
        raise NotAFeed(_not_a_feed(text, d))
    base = url or d.feed.get("link", "")
    entries = tuple(_entry(e, base, timezone) for e in d.entries)
    ttl = d.feed.get("ttl")
    return ParsedFeed(
        title=(d.feed.get("title") or "").strip() or None,
        link=d.feed.get("link"),
        entries=entries,
        ttl_minutes=int(ttl) if ttl and str(ttl).strip().isdigit() else None,
        warning=str(d.get("bozo_exception")) if d.get("bozo") else None,
    )


def _not_a_feed(text: str, d: feedparser.FeedParserDict) -> str:
    head = text[:2048].lower()
    if "<html" in head or "<!doctype html" in head:
        return "not a feed: the server sent an HTML page"
    if not text.strip():
        return "not a feed: the document is empty"
    reason = d.get("bozo_exception")
    return f"not a feed: {reason}" if reason else "not a feed: no RSS, Atom or JSON Feed root element"


def _entry(e: feedparser.FeedParserDict, base: str, timezone: str) -> ParsedEntry:
    link = e.get("link") or (e.get("id") if e.get("guidislink") else None)
    link = urls.serialize(urls.join(base, link)) if link else None
    return ParsedEntry(
        title=(e.get("title") or "").strip(),
        guid=(e.get("id") or "").strip() or None,
        link=link,
        published=_date(e, timezone),
        content=_content(e),
        summary=_html(e.get("summary_detail")) if e.get("summary") else None,
        image=_image(e, base),
        author=e.get("author"),
    )


def _date(e: feedparser.FeedParserDict, timezone: str) -> int | None:
    for key in ("published", "updated", "created"):
        if raw := e.get(key):
            ms = parse_date(raw, timezone)
            if ms is None and (parsed := e.get(f"{key}_parsed")):
                ms = calendar.timegm(parsed) * 1000
            if ms is not None:
                return ms
    return None


def _html(detail: dict | None) -> str | None:
    """A text construct as HTML (plain text is escaped)."""
    if not detail:
        return None
    value = detail.get("value") or ""
    if detail.get("type") == "text/plain":
        return html.escape(value, quote=False)
    return value


def _content(e: feedparser.FeedParserDict) -> str | None:
    contents = e.get("content") or []
    for item in sorted(contents, key=lambda c: c.get("type") != "text/html"):
        if value := _html(item):
            if value.strip():
                return value
    return None


def _image(e: feedparser.FeedParserDict, base: str) -> str | None:
    candidates = []
    for enc in e.get("enclosures", []):
        href = enc.get("href") or enc.get("url")
        if href and ((enc.get("type") or "").startswith("image/") or _IMAGE_EXT.search(href)):
            candidates.append(href)
    for key in ("media_content", "media_thumbnail"):
        for media in e.get(key, []):
            href = media.get("url")
            if href and (media.get("medium") == "image" or (media.get("type") or "").startswith("image/")
                         or key == "media_thumbnail" or _IMAGE_EXT.search(href)):
                candidates.append(href)
    return urls.join(base, candidates[0]) if candidates else None
