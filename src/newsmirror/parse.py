"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) into ParsedFeed.

Two readers of XML feeds share one normalization. parse_fast reads the common shapes with
lxml, about ten times faster than feedparser; whatever it is unsure of goes to feedparser, the
reference, whose result the fast path reproduces exactly (the tests check this). JSON Feed,
which feedparser 6 does not read, has a small reader here.

Before reading: the bytes are decoded by encoding.py's rules, and entity declarations are
defused (only entities with a literal value survive). After: stripped titles, absolute WHATWG
links, dates in milliseconds under the mirror's rule for zone-less dates, the body preferred over
the summary, the entry's image, and no script, style or applet element left in any HTML.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
from collections.abc import Iterable, Mapping

import feedparser
from feedparser.datetimes import _parse_date

from . import parse_fast, urls
from .dates import parse_date
from .encoding import decode, detect
from .model import ParsedEntry, ParsedFeed
from .parse_fast import HTML_TYPES, Raw, map_type

# Comments and processing instructions before the DOCTYPE, and the DOCTYPE's internal subset:
# the way to a billion-laughs or an external-entity read. Feeds have no business declaring
# anything there but the odd named character, so only entities with a literal value are kept.
_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.S)
_DOCTYPE_SUBSET = re.compile(r"(\s*)<!DOCTYPE\s+([^\[>]*)\[((?:[^\]]|\](?!\s*>))*)\]\s*>", re.I)
_LITERAL_ENTITY = re.compile(r'<!ENTITY\s+[\w.-]+\s+"(?:[^"&%<]*|&#\d+;|&#x[0-9A-Fa-f]+;)"\s*>')
_XML_DECL = re.compile(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']")
# Where a C1 control can come from in a UTF-8 document: its encoding, or a character reference
# (two patterns: each starts with a literal, which re scans for quickly).
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
_C1_REF = re.compile(rb"&#(?:0*1(?:2[89]|[3-5][0-9])|x0*[89][0-9a-fA-F]);")
_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", re.I)
# Elements whose content is code, not text: feedparser's sanitizer drops them with their content.
_DANGEROUS = re.compile(r"<(script|style|applet)\b[^>]*?(?:/>|>.*?(?:</\1\s*>|\Z))", re.I | re.S)
_DANGEROUS_HINT = re.compile("<(?:[sS](?:[cC][rR]|[tT][yY])|[aA][pP][pP])")  # case-sensitive: 3x faster scan
_MISSING = object()
_FEED_KEYS = frozenset({"title", "link", "subtitle", "updated"})  # what makes a version-less document a feed
_get = dict.get  # feedparser's dict aliases keys (updated -> published); read what the feed said


class NotAFeed(ValueError):
    """The document is not a feed; the message says what it is instead."""


def parse(data: bytes, url: str = "", content_type: str | None = None, timezone: str = "Asia/Shanghai") -> ParsedFeed:
    """Parse a fetched feed document; NotAFeed when it is none."""
    codec, skip = detect(data, content_type)
    if _is_json(data, codec, skip, content_type):
        return _json_feed(decode(data, content_type), url, timezone)
    raw = None
    if codec == "utf-8" and not _has_doctype(data, skip):
        # lxml reads UTF-8 itself, which saves decoding it; one scan of the bytes for C1
        # controls spares one per value.
        c1 = bool(_C1_UTF8.search(data) or _C1_REF.search(data))
        raw = parse_fast.parse(data[skip:] if skip else data, url, c1)
    if raw is None:
        text = _defuse(decode(data, content_type))
        if m := _XML_DECL.match(text):  # lxml refuses text that declares an encoding
            text = m.group(1) + text[m.end():]
        raw = (codec != "utf-8" and parse_fast.parse(text, url)) or _feedparser(text, url)
    return _finish(raw, url, timezone)


def _is_json(data: bytes, codec: str, skip: int, content_type: str | None) -> bool:
    """A document starting with '{', or one the server calls JSON that does not start with '<'."""
    head = data[skip: skip + 1024].decode(codec, errors="replace").lstrip()
    if not head and len(data) > skip + 1024:
        head = decode(data, content_type).lstrip()
    return head[:1] == "{" or (head[:1] != "<" and "json" in (content_type or "").lower())


def _has_doctype(data: bytes, skip: int) -> bool:
    """Whether a DOCTYPE may come before the root element (the bytes then go through _defuse)."""
    root = _ROOT_START.search(data, skip)
    return b"<!DOCTYPE" in data[skip: root.start() if root else len(data)].upper()


def _defuse(text: str) -> str:
    """The document with its DOCTYPE's internal subset reduced to literal entity declarations."""
    pos = 0
    while (m := _PROLOG_ITEM.match(text, pos)) and m.end() > pos:
        pos = m.end()
    if not (m := _DOCTYPE_SUBSET.match(text, pos)):
        return text
    # One declaration a line: feedparser looks for them at line starts.
    kept = "".join(f"\n{e.group(0)}" for e in _LITERAL_ENTITY.finditer(m.group(3)))
    doctype = f"<!DOCTYPE {m.group(2).strip()}" + (f" [{kept}\n]>" if kept else ">")
    return text[: m.start()] + m.group(1) + doctype + text[m.end():]


def _feedparser(text: str, url: str) -> Raw:
    """The reference reader, for every document parse_fast declines."""
    headers = {"content-type": "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    try:
        # A stream, not bytes: feedparser would try to open bytes that name a file as that file.
        d = feedparser.parse(io.BytesIO(text.encode("utf-8")), response_headers=headers,
                             sanitize_html=False, resolve_relative_uris=False)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        # feedparser's lenient parser trips over some broken documents (seen: int(None) for an
        # empty <height>); such a document is not a feed anyone can read.
        raise NotAFeed(f"not a feed: the document is too broken to read ({type(exc).__name__})") from None
    if not d.get("version") and not d.entries and (_is_html(text) or not _FEED_KEYS.intersection(d.feed)):
        raise NotAFeed(_not_a_feed(text, d))
    return Raw(d.feed, d.entries, str(d.get("bozo_exception")) if d.get("bozo") else None)


def _is_html(text: str) -> bool:
    head = text[:2048].lower()
    return "<html" in head or "<!doctype html" in head


def _not_a_feed(text: str, d: feedparser.FeedParserDict) -> str:
    if _is_html(text):
        return "not a feed: the server sent an HTML page"
    if not text.strip():
        return "not a feed: the document is empty"
    reason = d.get("bozo_exception")
    return f"not a feed: {reason}" if reason else "not a feed: no RSS, Atom or JSON Feed root element"


# --- normalization of feedparser's values (from either reader) -----------------------------------

def _finish(raw: Raw, url: str, timezone: str) -> ParsedFeed:
    f = raw.feed
    base = url or _get(f, "link") or ""
    ttl = _get(f, "ttl")
    return ParsedFeed(
        title=_title(f) or None,
        link=_get(f, "link"),
        entries=tuple(_entry(e, base, timezone) for e in raw.entries),
        ttl_minutes=int(ttl) if ttl and str(ttl).strip().isdigit() else None,
        warning=raw.warning,
        subtitle=_text(f, "subtitle") or _text(f, "summary"),
        id=_get(f, "id"),
        updated=_date(f, ("updated",), timezone),
        published=_date(f, ("published",), timezone),
        author=_get(f, "author"),
    )


def _entry(e: Mapping, base: str, timezone: str) -> ParsedEntry:
    link = _link(e)
    return ParsedEntry(
        title=_title(e),
        guid=(_get(e, "id") or "").strip() or None,
        link=urls.serialize(urls.join(base, link)) if link else None,
        published=_date(e, ("published", "updated", "created"), timezone),
        content=_content(e),
        summary=_text(e, "summary"),
        image=_image(e, base),
        author=_get(e, "author"),
        updated=_date(e, ("updated",), timezone),
    )


def _title(ctx: Mapping) -> str:
    title = (_get(ctx, "title") or "").strip()
    detail = _get(ctx, "title_detail") or {}
    return _defang(title).strip() if detail.get("type") in HTML_TYPES else title


def _link(e: Mapping) -> str | None:
    """The entry's last alternate HTML link. feedparser lets a later <link rel="enclosure">
    without href take the place of the alternate one; that link is not the article."""
    link = _get(e, "link")
    alternates = [x["href"] for x in _get(e, "links") or () if x.get("rel") == "alternate" and x.get("href")
                  and map_type(x.get("type") or "text/html") in HTML_TYPES]
    if alternates and link not in alternates:
        link = alternates[-1]
    return link or (_get(e, "id") if _get(e, "guidislink") else None)


def _date(ctx: Mapping, keys: Iterable[str], timezone: str) -> int | None:
    """The first date the feed gives, by the mirror's rules, else as feedparser reads it."""
    for key in keys:
        if raw := _get(ctx, key):
            ms = parse_date(raw, timezone)
            if ms is None:
                parsed = _get(ctx, f"{key}_parsed", _MISSING)
                parsed = _parse_date(raw) if parsed is _MISSING else parsed
                ms = calendar.timegm(parsed) * 1000 if parsed else None
            if ms is not None:
                return ms
    return None


def _html(detail: Mapping | None) -> str | None:
    """A text construct as HTML: plain text escaped, code elements removed from markup."""
    if not detail:
        return None
    value = detail.get("value") or ""
    ctype = detail.get("type")
    if ctype == "text/plain":
        return html.escape(value, quote=False)
    return _defang(value) if ctype in HTML_TYPES else value


def _defang(markup: str) -> str:
    return _DANGEROUS.sub("", markup) if _DANGEROUS_HINT.search(markup) else markup


def _text(ctx: Mapping, key: str) -> str | None:
    return _html(_get(ctx, f"{key}_detail")) if _get(ctx, key) else None


def _content(e: Mapping) -> str | None:
    for item in sorted(_get(e, "content") or (), key=lambda c: c.get("type") != "text/html"):
        if (value := _html(item)) and value.strip():
            return value
    return None


def _image(e: Mapping, base: str) -> str | None:
    candidates = []
    for enc in _get(e, "links") or ():
        href = enc.get("href") or enc.get("url")
        if enc.get("rel") == "enclosure" and href and (
                (enc.get("type") or "").startswith("image/") or _IMAGE_EXT.search(href)):
            candidates.append(href)
    for key in ("media_content", "media_thumbnail"):
        for media in _get(e, key) or ():
            href = media.get("url")
            if href and (media.get("medium") == "image" or (media.get("type") or "").startswith("image/")
                         or key == "media_thumbnail" or _IMAGE_EXT.search(href)):
                candidates.append(href)
    return urls.join(base, candidates[0]) if candidates else None


# --- JSON Feed -------------------------------------------------------------------------------------

def _json_feed(text: str, url: str, timezone: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1): its text fields are plain text."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise NotAFeed(f"not a feed: the JSON does not parse ({exc})") from None
    if not isinstance(doc, dict) or "jsonfeed.org/version/" not in _str(doc.get("version")):
        raise NotAFeed("not a feed: JSON, but not a JSON Feed")
    base = url or _str(doc.get("feed_url")) or _str(doc.get("home_page_url"))
    entries = []
    for item in doc.get("items") or ():
        if not isinstance(item, dict):
            continue
        link = _str(item.get("url")) or _str(item.get("external_url"))
        updated = parse_date(_str(item.get("date_modified")), timezone)
        published = parse_date(_str(item.get("date_published")), timezone)
        content = _str(item.get("content_html"))
        entries.append(ParsedEntry(
            title=_str(item.get("title")).strip(),
            guid=_str(item.get("id")).strip() or None,
            link=urls.serialize(urls.join(base, link)) if link else None,
            published=updated if published is None else published,
            content=_defang(content) if content.strip() else _plain(item.get("content_text")),
            summary=_plain(item.get("summary")),
            image=_json_image(item, base),
            author=_json_author(item),
            updated=updated,
        ))
    return ParsedFeed(
        title=_str(doc.get("title")).strip() or None,
        link=_str(doc.get("home_page_url")) or None,
        entries=tuple(entries),
        subtitle=_plain(doc.get("description")),
        author=_json_author(doc),
    )


def _str(value: object) -> str:
    """A JSON value as text: numbers (ids often are) as written, anything else as ''."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _plain(value: object) -> str | None:
    return html.escape(value, quote=False) if isinstance(value, str) and value.strip() else None


def _json_author(obj: dict) -> str | None:
    authors = obj.get("authors") if isinstance(obj.get("authors"), list) else [obj.get("author")]
    names = [_str(a.get("name")).strip() for a in authors if isinstance(a, dict)]
    return next((n for n in names if n), None)


def _json_image(item: dict, base: str) -> str | None:
    href = _str(item.get("image")) or _str(item.get("banner_image"))
    if not href:
        href = next((_str(a.get("url")) for a in item.get("attachments") or () if isinstance(a, dict)
                     and _str(a.get("mime_type")).startswith("image/") and _str(a.get("url"))), "")
    return urls.join(base, href) if href else None
