"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) into ParsedFeed.

Two readers of XML feeds share one normalization. parse_fast reads the common shapes with
lxml, about ten times faster than feedparser; whatever it is unsure of goes to feedparser, the
reference, whose result the fast path reproduces exactly (the tests check this). JSON Feed,
which feedparser 6 does not read, has a small reader here.

Before reading: the bytes are decoded by encoding.py's rules, and entity declarations are
defused (only entities with a literal value survive, and only as long as what they expand to
stays small). After: stripped titles, absolute WHATWG links (http and https only), dates in
milliseconds under the mirror's rule for zone-less dates, the body preferred over the summary,
the entry's image, no script, style or applet element left in any HTML, and no character XML 1.0
forbids in any value (the feeds newsmirror publishes again are XML). A hostile document raises
nothing but NotAFeed; a JSON Feed with parts of the wrong type loses those parts only.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, replace
from typing import Any, TypeVar

import feedparser  # type: ignore[import-untyped]
from feedparser.datetimes import _parse_date  # type: ignore[import-untyped]

from . import parse_fast, urls
from .dates import parse_date
from .encoding import decode, detect
from .model import ParsedEntry, ParsedFeed
from .parse_fast import HTML_TYPES, Raw, map_type

# Comments and processing instructions before the DOCTYPE, and the DOCTYPE's internal subset:
# the way to a billion-laughs or an external-entity read. Feeds have no business declaring
# anything there but the odd named character, so only entities with a literal value are kept.
_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
# Possessive: `<!DOCTYPE` and a long run of spaces with no "[" after them was tried again for
# every split of the run between the two patterns that read spaces.
_DOCTYPE_SUBSET = re.compile(r"(\s*)<!DOCTYPE\s++([^\[>]*+)\[((?:[^\]]|\](?!\s*>))*+)\]\s*>", re.IGNORECASE)
_LITERAL_ENTITY = re.compile(r'<!ENTITY\s+([\w.-]+)\s+"([^"&%<]*|&#\d+;|&#x[0-9A-Fa-f]+;)"\s*>')
# feedparser takes every "<!ENTITY" before the first "<" and a letter for a declaration, in a
# comment or not, and expands it itself: none may be left there but the ones kept.
_ANY_ENTITY = re.compile(r"<!ENTITY[^>]*+>?")
_ROOT_TEXT = re.compile(r"<\w", re.ASCII)
_REFERENCE = re.compile(r"&([\w.:-]+);")
# What the declared entities of a document may add to it, all references expanded: a 40 KB
# document declaring one 10 KB entity and naming it 10,000 times made a 100 MB article.
ENTITY_EXPANSION_LIMIT = 64 * 1024
# The look-behind starts the white space before "encoding" where a run of it starts: `<?xml` and
# a long run of spaces was otherwise read again from each of them.
_XML_DECL = re.compile(r"^(\s*<\?xml[^>]*?)(?<!\s)\s+encoding\s*=\s*[\"'][^\"']*[\"']")
# Where a C1 control can come from in a UTF-8 document: its encoding, or a character reference
# (two patterns: each starts with a literal, which re scans for quickly).
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
_C1_REF = re.compile(rb"&#(?:0*+1(?:2[89]|[3-5][0-9])|x0*+[89][0-9a-fA-F]);")
_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", re.IGNORECASE)
# Elements whose content is code, not text: feedparser's sanitizer drops them with their content.
# A start tag the end of the input cuts off goes with the rest (a browser drops it too); before,
# it did not match, and was scanned to the end from every later "<script".
_DANGEROUS = re.compile(r"<(script|style|applet)\b[^>]*?(?:/>|>.*?(?:</\1\s*>|\Z)|\Z)", re.IGNORECASE | re.DOTALL)
_DANGEROUS_HINT = re.compile("<(?:[sS](?:[cC][rR]|[tT][yY])|[aA][pP][pP])")  # case-sensitive: 3x faster scan
_MISSING = object()
# An empty link element (`<link></link>`, `<link/>`, `<atom:link/>`): feedparser takes it for a link
# and so never lets a permalink guid after it be the link; such items were archived with none.
_EMPTY_LINK = re.compile(r"<((?:[A-Za-z_][\w.-]*+:)?link)\s*+(?:/>|>\s*+</\1\s*+>)", re.IGNORECASE)
_FEED_KEYS = frozenset({"title", "link", "subtitle", "updated"})  # what makes a version-less document a feed
# Characters XML 1.0 forbids: one in a title made every later pass fail writing the feeds out.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_get: Callable[..., Any] = dict.get  # feedparser's dict aliases keys (updated -> published); read what the feed said


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
    """The document with its DOCTYPE's internal subset reduced to literal entity declarations
    that expand to little, and no other entity declaration before the root element."""
    pos = 0
    while (m := _PROLOG_ITEM.match(text, pos)) and m.end() > pos:
        pos = m.end()
    before, doctype, rest = "", "", text
    if m := _DOCTYPE_SUBSET.match(text, pos):
        before, rest = text[: m.start()] + m.group(1), text[m.end():]
        kept, dropped = _small_entities(m.group(3), rest)
        inner = "".join(f"\n{e}" for e in kept)  # one declaration a line: feedparser looks for them at line starts
        doctype = f"<!DOCTYPE {m.group(2).strip()}" + (f" [{inner}\n]>" if kept else ">")
        if dropped:
            rest = _escape_references(rest, dropped)
    if "<!ENTITY" not in text:
        return before + doctype + rest
    root = _ROOT_TEXT.search(rest)
    end = root.start() if root else len(rest)
    return _ANY_ENTITY.sub("", before) + doctype + _ANY_ENTITY.sub("", rest[:end]) + rest[end:]


def _small_entities(subset: str, document: str) -> tuple[list[str], set[str]]:
    """The literal entity declarations of `subset` to keep, and the names of those dropped: the
    largest go until all the references in `document`, expanded, add at most
    ENTITY_EXPANSION_LIMIT characters to it."""
    declarations = [(e.group(0), e.group(1), e.group(2)) for e in _LITERAL_ENTITY.finditer(subset)]
    if not declarations:
        return [], set()
    uses = Counter(_REFERENCE.findall(document))
    growth = {decl: uses[name] * max(0, (1 if value.startswith("&#") else len(value)) - len(name) - 2)
              for decl, name, value in declarations}
    total = sum(growth.values())
    for decl in sorted(growth, key=growth.__getitem__, reverse=True):
        if total <= ENTITY_EXPANSION_LIMIT:
            break
        total -= growth.pop(decl)
    return [d for d, _, _ in declarations if d in growth], {n for d, n, _ in declarations if d not in growth}


def _escape_references(document: str, names: set[str]) -> str:
    """The references to these (no longer declared) entities written as text, so that the
    document stays well-formed and is read as XML, references as they were written; CDATA
    sections, where nothing is a reference, as they are."""
    pattern = re.compile(r"<!\[CDATA\[.*?(?:\]\]>|\Z)|&(" + "|".join(map(re.escape, sorted(names))) + ");", re.DOTALL)
    return pattern.sub(lambda m: f"&amp;{m.group(1)};" if m.group(1) else m.group(0), document)


def _feedparser(text: str, url: str) -> Raw:
    """The reference reader, for every document parse_fast declines."""
    text = without_empty_links(text)
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


def without_empty_links(text: str) -> str:
    """The document without empty link elements, which say nothing but keep a permalink guid
    from being the link (parse_fast ignores them the same way)."""
    return _EMPTY_LINK.sub("", text) if "link" in text else text


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
    ttl = str(_get(f, "ttl") or "").strip()
    feed = ParsedFeed(
        title=_title(f) or None,
        link=_http_or_none(_get(f, "link")),
        entries=tuple(_entry(e, base, timezone) for e in raw.entries),
        # ASCII digits only: int() reads other digits too, and refuses "²" or 5,000 digits
        ttl_minutes=int(ttl) if ttl.isascii() and ttl.isdigit() and len(ttl) < 10 else None,
        warning=raw.warning,
        subtitle=_text(f, "subtitle") or _text(f, "summary"),
        id=_get(f, "id"),
        updated=_date(f, ("updated",), timezone),
        published=_date(f, ("published",), timezone),
        author=_get(f, "author"),
    )
    return feed if raw.xml_safe else _xml_safe(feed)


def _xml_safe(feed: ParsedFeed) -> ParsedFeed:
    """The feed without the characters XML 1.0 forbids in any of its values (or its entries')."""
    return replace(_strip_forbidden(feed), entries=tuple(map(_strip_forbidden, feed.entries)))


_Record = TypeVar("_Record", ParsedEntry, ParsedFeed)


def _strip_forbidden(record: _Record) -> _Record:
    changed: dict[str, Any] = {f.name: _NOT_XML.sub("", value) for f in fields(record)
               if isinstance(value := getattr(record, f.name), str) and _NOT_XML.search(value)}
    return replace(record, **changed) if changed else record


def _http_or_none(link: str | None) -> str | None:
    """A link as the feed gives it, if it is an http(s) URL."""
    return link if link and urls.is_http(link) else None


def _entry(e: Mapping, base: str, timezone: str) -> ParsedEntry:
    link = _link(e)
    return ParsedEntry(
        title=_title(e),
        guid=(_get(e, "id") or "").strip() or None,
        link=urls.http_url(base, link) if link else None,
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
    return next((image for href in candidates if (image := urls.http_url(base, href))), None)


# --- JSON Feed -------------------------------------------------------------------------------------

def _json_feed(text: str, url: str, timezone: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1): its text fields are plain text. Parts
    of the wrong type are skipped, and the feed's warning says which."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise NotAFeed(f"not a feed: the JSON does not parse ({exc})") from None
    if not isinstance(doc, dict) or "jsonfeed.org/version/" not in _str(doc.get("version")):
        raise NotAFeed("not a feed: JSON, but not a JSON Feed")
    reader = _JsonReader()
    base = url or reader.text(doc, "feed_url") or reader.text(doc, "home_page_url")
    entries = [reader.item(item, base, timezone) for item in reader.objects(doc, "items", "item")]
    feed = ParsedFeed(
        title=reader.text(doc, "title").strip() or None,
        link=_http_or_none(reader.text(doc, "home_page_url")),
        entries=tuple(entries),
        subtitle=_plain(reader.text(doc, "description")),
        author=reader.author(doc),
        warning=reader.warning(),
    )
    return _xml_safe(feed)


class _JsonReader:
    """Reads the fields of a JSON Feed, counting what had the wrong type (a feed that writes
    `"items": 5` or an author that is a number loses those parts, not the whole feed)."""

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()

    def text(self, obj: dict, key: str) -> str:
        """A text field (numbers, as ids often are, as written); '' if absent or of another type."""
        value = obj.get(key)
        if value is not None and not isinstance(value, str) and not _is_number(value):
            self.skipped[f"{key} is not text"] += 1
        return _str(value)

    def objects(self, obj: dict, key: str, one: str) -> list[dict]:
        """The objects in a list field (`one`: what one of them is called)."""
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.skipped[f"{key} is not a list"] += 1
            return []
        found = [v for v in value if isinstance(v, dict)]
        if len(found) < len(value):
            self.skipped[f"an {one} is not an object"] += len(value) - len(found)
        return found

    def item(self, item: dict, base: str, timezone: str) -> ParsedEntry:
        # An id that is an http(s) URL is the item's page when it names no other (as an RSS guid is).
        guid = self.text(item, "id").strip()
        link = self.text(item, "url") or self.text(item, "external_url") or (guid if urls.is_http(guid) else "")
        updated = parse_date(self.text(item, "date_modified"), timezone)
        published = parse_date(self.text(item, "date_published"), timezone)
        content = self.text(item, "content_html")
        return ParsedEntry(
            title=self.text(item, "title").strip(),
            guid=guid or None,
            link=urls.http_url(base, link) if link else None,
            published=updated if published is None else published,
            content=_defang(content) if content.strip() else _plain(self.text(item, "content_text")),
            summary=_plain(self.text(item, "summary")),
            image=self.image(item, base),
            author=self.author(item),
            updated=updated,
        )

    def author(self, obj: dict) -> str | None:
        authors = self.objects(obj, "authors", "author")
        if not authors and isinstance(obj.get("author"), dict):
            authors = [obj["author"]]
        elif obj.get("author") is not None and not isinstance(obj.get("author"), dict):
            self.skipped["author is not an object"] += 1
        names = [self.text(a, "name").strip() for a in authors]
        return next((n for n in names if n), None)

    def image(self, item: dict, base: str) -> str | None:
        href = self.text(item, "image") or self.text(item, "banner_image")
        candidates = [href] if href else [
            self.text(a, "url") for a in self.objects(item, "attachments", "attachment")
            if self.text(a, "mime_type").startswith("image/")]
        return next((image for href in candidates if href and (image := urls.http_url(base, href))), None)

    def warning(self) -> str | None:
        """What was skipped: "skipped: items is not a list", "skipped: title is not text (3 times)"."""
        if not self.skipped:
            return None
        return "skipped: " + "; ".join(what if n == 1 else f"{what} ({n} times)" for what, n in self.skipped.items())


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _str(value: object) -> str:
    """A JSON value as text: numbers (ids often are) as written, anything else as ''."""
    if isinstance(value, str):
        return value
    return str(value) if _is_number(value) else ""


def _plain(value: str | None) -> str | None:
    return html.escape(value, quote=False) if value and value.strip() else None
