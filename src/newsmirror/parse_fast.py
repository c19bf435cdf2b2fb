"""The fast path of parse.py: the common shapes of RSS 0.9x/1.0/2.0 and Atom, read with lxml.

The contract is equality, not resemblance. For a document it accepts, `parse` returns exactly
the values feedparser (strict XML mode, no sanitizing, no rewriting of relative URIs inside
markup) stores under the keys parse.py reads; for anything it does not model it returns None
and parse.py asks feedparser. What it declines: ill-formed XML, any DOCTYPE, xml:base, markup
inside a text construct (XHTML content, unescaped HTML), base64 content, and every element to
which feedparser gives a meaning this module does not reproduce (image or source inside an
entry, iTunes, GeoRSS, media:title, ...). Where feedparser's result depends on its own
helpers (URL joining, HTML sniffing, the cp1252 repair), those helpers are called, not
imitated; URL joining is skipped only where it provably returns its input. tests/test_parse.py
checks the equality on every fixture, on generated feeds and on feedparser's own corpus.
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple
from urllib.parse import urlparse

from feedparser.html import _cp1252  # type: ignore[import-untyped]
from feedparser.mixin import _FeedParserMixin  # type: ignore[import-untyped]
from feedparser.urls import _urljoin, make_safe_absolute_uri  # type: ignore[import-untyped]
from feedparser.util import FeedParserDict  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]


class Raw(NamedTuple):
    """The part of a feedparser result parse.py reads: plain dicts under feedparser's keys."""

    feed: dict
    entries: list[dict]
    warning: str | None = None
    xml_safe: bool = False  # every value holds only characters XML 1.0 allows (lxml's are)


class _Decline(Exception):
    """The document has a shape this module does not model: feedparser must parse it."""


# Namespace URI (lower case) -> feedparser's prefix for it ('' for the RSS/Atom family).
_PREFIXES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_USERLAND = "backend.userland.com/rss"  # feedparser folds every such namespace into RSS
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_RSS10 = "http://purl.org/rss/1.0/"
_ATOM10 = "http://www.w3.org/2005/atom"
HTML_TYPES = frozenset(_FeedParserMixin.html_types)
map_type = _FeedParserMixin.map_content_type  # 'html' -> 'text/html', ...

# Every element name feedparser gives a meaning to (its _start_/_end_ methods).
_HANDLED = frozenset(n.split("_", 2)[2] for n in dir(_FeedParserMixin) if n.startswith(("_start_", "_end_")))
_TITLES = frozenset({"title", "dc_title"})
_IDS = frozenset({"id", "guid"})
_DESCRIPTIONS = frozenset({"description", "dc_description"})
_CONTENTS = {"content_encoded": "text/html", "fullitem": "text/html", "content": "text/plain"}
_DATES = {"pubdate": "published", "published": "published", "issued": "published", "dcterms_issued": "published",
          "updated": "updated", "modified": "updated", "lastbuilddate": "updated", "dc_date": "updated",
          "dcterms_modified": "updated", "created": "created", "dcterms_created": "created"}
_AUTHORS = frozenset({"author", "managingeditor", "dc_author", "dc_creator"})
_AUTHOR_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
# Handled elements whose effects never reach a key parse.py reads, as long as they hold only text.
_INERT = frozenset({"category", "keywords", "dc_subject", "media_category", "media_keywords", "media_credit",
                    "media_rating", "media_restriction", "media_license", "language", "dc_language", "rights",
                    "copyright", "dc_rights", "generator", "cloud", "webmaster", "dc_publisher", "info"})
_MEDIA = frozenset({"media_content", "media_thumbnail", "media_group"})
# Children of <image> and <textinput> that leave feedparser inside them (see its unknown_starttag).
_IMAGE_PARTS = frozenset({"title", "link", "description", "url", "width", "height"})
_TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})
# Keys an element without a handler must not land on: feedparser stores its text under its name.
_FORBIDDEN = frozenset({
    "title", "title_detail", "id", "guidislink", "link", "links", "published", "updated", "created",
    "published_parsed", "updated_parsed", "created_parsed", "content", "summary", "summary_detail", "subtitle",
    "subtitle_detail", "media_content", "media_thumbnail", "author", "authors", "author_detail", "contributors",
    "tags", "image", "textinput", "source", "ttl"})
_AMP_REF = re.compile("&([A-Za-z0-9_]+);")  # feedparser's repair of '&b;=2' in link query strings
_C1 = re.compile("[\x80-\x9f]")
_NON_CHARACTERS = {0xFFFE: None, 0xFFFF: None}
# Absolute, lower-case scheme, a host, no white space, brackets or ';' (urllib's "params"), and no
# empty query or fragment: urllib.parse.urljoin gives such a URL back as it is.
_PLAIN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#;\[\]\x00-\x20][^?#;\[\]\x00-\x20]*"
                        r"(?:\?[^#\[\]\x00-\x20]+)?(?:#[^\[\]\x00-\x20]+)?\Z")
_XMLNS = r"""xmlns:([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"""
_XMLNS_TEXT, _XMLNS_UTF8 = re.compile(_XMLNS), re.compile(_XMLNS.encode())
_XML_NS = "http://www.w3.org/XML/1998/namespace"

_local = threading.local()
_NAMES: dict[str, tuple[str, str]] = {}  # tag -> (feedparser's name, its namespace prefix), for known namespaces


def _parser(utf8: bool) -> etree.XMLParser:
    """One parser per thread and input kind (lxml parsers must not be shared); no DTD, entity
    expansion or network. Bytes are UTF-8 whatever the XML declaration says (encoding.py decided)."""
    key = "utf8" if utf8 else "text"
    parser = getattr(_local, key, None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                                 remove_comments=True, remove_pis=True, encoding="utf-8" if utf8 else None)
        setattr(_local, key, parser)
    return parser


def parse(source: str | bytes, url: str, c1: bool = True) -> Raw | None:
    """Feedparser's values for a document, or None to decline. `source` is the decoded text with
    its entity declarations defused and no encoding declaration, or (saving the decoding) the
    UTF-8 bytes of a document without a DOCTYPE. `c1=False` promises that no C1 control
    character is in it, which spares a scan of every value."""
    utf8 = isinstance(source, bytes)
    try:
        root = etree.fromstring(source, _parser(utf8))
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.getroottree().docinfo.doctype:
        return None  # what expat does with entities a DTD may declare is not modelled
    try:
        return _Walker(source, root, url, c1).run()
    except _Decline:
        return None


def _prefix_of(uri: str) -> str | None:
    low = uri.lower()
    return "" if _USERLAND in low else _PREFIXES.get(low)


def _join(base: str, value: str) -> str:
    """feedparser's _urljoin, skipped for a URL it would return unchanged (already absolute, in
    the form urllib re-serializes to itself): half the cost of an item lies there otherwise."""
    return value if value.isascii() and _PLAIN_URL.match(value) else _urljoin(base, value)


def _junk_key(name: str) -> str:
    key = FeedParserDict.keymap.get(name, name)
    return key[0] if isinstance(key, list) else key


class _Walker:
    """feedparser's handlers replayed over an lxml tree, for the elements it models."""

    def __init__(self, source: str | bytes, root: etree._Element, url: str, c1: bool = True) -> None:
        self.source = source
        self.c1 = c1
        self.root = root
        self.feed: dict = {}
        self.entries: list[dict] = []
        self.title_depth = -1
        self.foreign: set[tuple[str, str]] = set()
        # Prefixes declared for each unknown namespace, and the feedparser prefixes each document
        # prefix was bound to (through a known namespace); those that differ from the prefix
        # itself (e.g. xmlns:atom -> '') give an element a handler name this module cannot know.
        self.declared: dict[str, set[str]] = {}
        self.bound: dict[str, set[str]] = {}
        for prefix, uri in self._declarations():
            if (std := _prefix_of(uri)) is None:
                self.declared.setdefault(uri, set()).add(prefix.lower())
            else:
                self.bound.setdefault(prefix, set()).add(std)
        self.remapped = {p for p, stds in self.bound.items() if stds != {p}}
        self.base = self._base(url)

    # --- document level ----------------------------------------------------------------------

    def run(self) -> Raw:
        root = self.root
        name = self.name(root)
        self.attrs(root)  # declines on xml:base
        if "rdf" in self.remapped:
            raise _Decline  # feedparser looks rdf:about up through its prefix map
        # The first declaration of an RSS 1.0 or Atom namespace sets feedparser's version (lxml
        # keeps the root's declarations in document order, as expat reports them); <rss> then
        # makes it RSS whatever it was, <feed> makes it Atom if it is still unset.
        version = next(filter(None, (self._version(p, uri) for p, uri in root.nsmap.items())), None)
        if name == "rss":
            self.atom = False
        elif name == "feed":
            self.atom = version != "rss"
        elif name == "rdf_rdf" and version:
            self.atom = version == "atom"
        else:
            raise _Decline
        if name == "feed":
            self.container(root, 1, self.feed)
        else:
            self.top(root)
        return Raw(self.feed, self.entries, xml_safe=True)

    def _declarations(self) -> list[tuple[str, str]]:
        """Every prefix declaration in the document: the root's, exactly, when the text has no
        other 'xmlns'; else a scan of the text, which may also find some in CDATA (harmless: more
        declarations only ever make this module decline more)."""
        nsmap = self.root.nsmap
        source = self.source
        if isinstance(source, bytes):
            if source.count(b"xmlns") == len(nsmap):
                return [(p, uri) for p, uri in nsmap.items() if p]
            found = [(m[1].decode("utf-8", "replace"), (m[2] if m[2] is not None else m[3]).decode("utf-8", "replace"))
                     for m in _XMLNS_UTF8.finditer(source)]
        else:
            if source.count("xmlns") == len(nsmap):
                return [(p, uri) for p, uri in nsmap.items() if p]
            found = [(m[1], m[2] if m[2] is not None else m[3]) for m in _XMLNS_TEXT.finditer(source)]
        if len(found) > 100 or any("&" in uri for _, uri in found):
            raise _Decline  # no feed needs a hundred namespaces; entities in a URI are not modelled
        return found

    @staticmethod
    def _version(prefix: str | None, uri: str) -> str | None:
        """What a namespace declaration makes feedparser's version (its track_namespace)."""
        low = uri.lower()
        if low == _RSS10 or (prefix is None and low == _RSS090):
            return "rss"
        return "atom" if low == _ATOM10 else None

    def _base(self, url: str) -> str:
        """feedparser's base URI: Content-Location, re-resolved against itself at every element."""
        try:
            urlparse(url)
        except ValueError:
            raise _Decline from None  # feedparser would resolve nothing against it
        base = url
        for _ in range(2):
            again = (make_safe_absolute_uri(base, base) or base) if base else _urljoin(base, base)
            if again == base:
                return base
            base = again
        raise _Decline

    # --- element names and attributes --------------------------------------------------------

    def name(self, el: etree._Element) -> str:
        """The name feedparser dispatches `el` on: its prefix for the namespace, '_', local name."""
        tag = el.tag
        known = _NAMES.get(tag)
        if known is None:
            if not isinstance(tag, str):
                raise _Decline  # an entity reference left by libxml2
            if tag[0] != "{":
                known = (tag.lower(), "")
            else:
                uri, local = tag[1:].split("}", 1)
                std = _prefix_of(uri)
                if std is None:
                    return self._foreign(uri, local.lower())
                known = (f"{std}_{local.lower()}" if std else local.lower(), std)
            if len(_NAMES) < 4096:
                _NAMES[tag] = known
        if known[1] and known[1] in self.remapped:
            raise _Decline
        return known[0]

    def _foreign(self, uri: str, local: str) -> str:
        """An element in a namespace feedparser does not know: it takes the first prefix declared
        for that URI so far, remapped if that prefix was ever bound to a known namespace. Rather
        than replay that history, accept the element only if every candidate name is inert."""
        if (uri, local) in self.foreign:
            return local
        names = {local}
        for p in self.declared.get(uri, ()):
            names.add(f"{p}_{local}")
            names.update(f"{std}_{local}" if std else local for std in self.bound.get(p, ()))
        for n in names:
            if n in _HANDLED or _junk_key(n) in _FORBIDDEN:
                raise _Decline
        self.foreign.add((uri, local))  # checked once: a document may repeat it thousands of times
        return local  # any candidate: all are harmless junk keys

    def attrs(self, el: etree._Element) -> dict[str, str]:
        """feedparser's attribute dict: lower-case names, rel and type values lower-cased.
        Declines on xml:base: a base URI other than the document's is not modelled."""
        items = el.items()
        if not items:
            return {}
        d = {}
        for key, value in items:
            if key[0] == "{":
                d = self._namespaced_attrs(el, items)
                break
            d[key.lower()] = value
        for key in ("rel", "type"):
            if key in d:
                d[key] = d[key].lower() or d[key]
        if d["xml:base"] if "xml:base" in d else d.get("base"):
            raise _Decline
        return d

    def _namespaced_attrs(self, el: etree._Element, items: list[tuple[str, str]]) -> dict[str, str]:
        """feedparser's strict parser files a namespaced attribute under 'prefix:name' for a known
        namespace, else under its bare name, then under its qualified name, which wins."""
        d: dict[str, str] = {}
        qualified = []
        for key, value in items:
            if key[0] == "{":
                uri, local = key[1:].split("}", 1)
                std = _prefix_of(uri)
                d[(f"{std}:{local}" if std else local).lower()] = value
                qualified.append((f"{self._attr_prefix(el, uri)}:{local}".lower(), value))
            else:
                qualified.append((key.lower(), value))
        d.update(qualified)
        return d

    @staticmethod
    def _attr_prefix(el: etree._Element, uri: str) -> str:
        if uri == _XML_NS:
            return "xml"
        prefixes = [p for p, u in el.nsmap.items() if u == uri and p]
        if len(prefixes) != 1:
            raise _Decline
        return prefixes[0]

    # --- text --------------------------------------------------------------------------------

    @staticmethod
    def text(el: etree._Element) -> str:
        if len(el):
            raise _Decline  # markup inside text: feedparser serializes it its own way
        return el.text or ""

    def repair(self, value: str) -> str:
        """feedparser's last steps for any text: undo UTF-8 read as Latin-1, map C1 controls as cp1252."""
        if value.isascii():
            return value
        try:
            # Latin-1 text that is UTF-8 may spell U+FFFE or U+FFFF, which XML forbids.
            value = value.encode("iso-8859-1").decode("utf-8").translate(_NON_CHARACTERS)
        except UnicodeError:
            pass
        return value.translate(_cp1252) if self.c1 and _C1.search(value) else value

    def uri_text(self, el: etree._Element) -> str:
        """Text of an element feedparser resolves against the base (link, url, permalink guid)."""
        value = self.text(el).strip()
        return self.repair(_join(self.base, value) if value else value)

    def construct(self, el: etree._Element, default_type: str, attrs: dict | None = None) -> tuple[str, str]:
        """(value, content type) of a text construct, as feedparser's push_content/pop give them."""
        attrs = self.attrs(el) if attrs is None else attrs
        ctype = map_type(attrs.get("type", default_type))
        if attrs.get("mode") == "base64" or not (ctype.startswith("text/") or ctype.endswith(("+xml", "/xml"))):
            raise _Decline  # base64: feedparser decodes it
        if ctype == "application/xhtml+xml":
            raise _Decline  # feedparser escapes and re-serializes XHTML text
        value = self.text(el).strip()
        if (not self.atom and ctype == "text/plain" and ("<" in value or "&" in value)
                and _FeedParserMixin.looks_like_html(value)):
            ctype = "text/html"
        return self.repair(value), ctype

    # --- containers --------------------------------------------------------------------------

    def top(self, root: etree._Element) -> None:
        """Children of <rss> or <rdf:RDF>: channels, items, and RSS 1.0's image and textinput."""
        for child in root:
            name = self.name(child)
            attrs = self.attrs(child)
            if name == "channel":
                self._cdf(attrs)
                self.container(child, 2, self.feed)
            elif name in ("item", "entry"):
                self.entry(child, 2, attrs)
            elif name in ("image", "textinput"):
                self.image(child, 2, name)
            elif name in _HANDLED:
                raise _Decline
            else:
                self.opaque(child, name)

    @staticmethod
    def _cdf(attrs: dict[str, str]) -> None:
        if "lastmod" in attrs or "href" in attrs:
            raise _Decline  # CDF attributes feedparser turns into elements

    def container(self, el: etree._Element, depth: int, feed: dict) -> None:
        """The children of a channel or an Atom feed."""
        authors = 0
        for child in el:
            name = self.name(child)
            cd = depth + 1
            if name in ("item", "entry"):
                self.entry(child, cd, self.attrs(child))
            elif name in _TITLES:
                self.title(child, feed, cd)
            elif name == "link":
                self.link(child, feed, entry=False)
            elif name in _IDS:
                self.guid(child, feed)
            elif name in _DESCRIPTIONS or name in ("subtitle", "tagline"):
                value, ctype = self.construct(child, "text/html" if name in _DESCRIPTIONS else "text/plain")
                feed["subtitle"] = value
                feed["subtitle_detail"] = {"type": ctype, "value": value}
            elif name in _DATES:
                self.attrs(child)
                feed[_DATES[name]] = self.repair(self.text(child).strip())
            elif name in _AUTHORS:
                self.author(child, feed, authors)
                authors += 1
            elif name == "ttl":
                if self.attrs(child):
                    raise _Decline
                feed["ttl"] = self.repair(self.text(child).strip())
            elif name in ("image", "textinput"):
                self.image(child, cd, name)
            else:
                self.other(child, name)

    def entry(self, item: etree._Element, depth: int, attrs: dict[str, str]) -> None:
        """An <item> or <entry> (feedparser's _start_item .. _end_item)."""
        self._cdf(attrs)
        e: dict = {}
        self.entries.append(e)
        self.title_depth = -1
        if about := attrs.get("rdf:about"):
            e["id"] = about
        has_content = False
        authors = 0
        for child in item:
            name = self.name(child)
            cd = depth + 1
            if name in _TITLES:
                self.title(child, e, cd)
            elif name == "link":
                self.link(child, e, entry=True)
            elif name in _IDS:
                self.guid(child, e)
            elif name in _DESCRIPTIONS or name == "summary":
                if "summary" in e and not has_content:
                    has_content = True  # a second summary is content to feedparser
                    self.content(child, e, "text/plain")
                else:
                    value, ctype = self.construct(child, "text/html" if name in _DESCRIPTIONS else "text/plain")
                    e["summary"] = value
                    e["summary_detail"] = {"type": ctype, "value": value}
            elif name in _CONTENTS:
                has_content = True
                self.content(child, e, _CONTENTS[name])
            elif name in _DATES:
                self.attrs(child)
                e[_DATES[name]] = self.repair(self.text(child).strip())
            elif name in _AUTHORS:
                self.author(child, e, authors)
                authors += 1
            elif name == "enclosure":
                self.text(child)
                link = self.href(self.attrs(child))
                link["rel"] = "enclosure"
                e.setdefault("links", []).append(link)
            elif name in _MEDIA:
                self.media(child, e, name)
            else:
                self.other(child, name)

    def other(self, el: etree._Element, name: str) -> None:
        """An element outside the modelled ones: harmless, or a reason to decline."""
        if name in _INERT:
            self.attrs(el)
            self.text(el)
        elif name == "contributor":
            self.attrs(el)
            for part in el:
                if self.name(part) not in _AUTHOR_PARTS:
                    raise _Decline
                self.attrs(part)
                self.text(part)
        elif name in _HANDLED:
            raise _Decline
        else:
            self.opaque(el, name)

    def opaque(self, el: etree._Element, name: str) -> None:
        """An element feedparser has no handler for: it files the element's text (or attributes)
        under its name, so that name must not be a key parse.py reads; same for its descendants."""
        if _junk_key(name) in _FORBIDDEN:
            raise _Decline
        self.attrs(el)
        for inner in el.iterdescendants():
            inner_name = self.name(inner)
            if inner_name in _HANDLED or _junk_key(inner_name) in _FORBIDDEN:
                raise _Decline
            self.attrs(inner)

    # --- the modelled elements ---------------------------------------------------------------

    def title(self, el: etree._Element, ctx: dict, depth: int) -> None:
        """feedparser keeps the first non-empty title at a depth (its title_depth)."""
        value, ctype = self.construct(el, "text/plain")
        if not -1 < self.title_depth <= depth:
            ctx["title"] = value
            ctx["title_detail"] = {"type": ctype, "value": value}
        if value:
            self.title_depth = depth

    @staticmethod
    def href(attrs: dict[str, str]) -> dict[str, str]:
        """feedparser's _enforce_href: url, uri or href becomes href."""
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        return attrs

    def link(self, el: etree._Element, ctx: dict, entry: bool) -> None:
        """Atom's <link href> (the alternate HTML one is the link) or RSS's text link, with
        feedparser's repair of query strings ('&b;=2'), which in entries also unescapes '&amp;'.
        An empty link element is no link, so that a permalink guid after it is the link (the
        feedparser path drops it from the document: parse.without_empty_links)."""
        attrs = self.attrs(el)
        if not attrs and not len(el) and not (el.text or "").strip():
            return
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        attrs = self.href(attrs)
        ctx.setdefault("links", []).append(attrs)
        if "href" in attrs:
            self.text(el)
            attrs["href"] = _join(self.base, attrs["href"])
            if attrs["rel"] == "alternate" and map_type(attrs["type"]) in HTML_TYPES:
                ctx["link"] = attrs["href"]
            return
        value = self.uri_text(el)
        if "&" in value:
            value = _AMP_REF.sub(r"&\g<1>", value.replace("&amp;", "&") if entry else value)
        if value or not entry:
            attrs["href"] = value
        ctx["link"] = value

    def guid(self, el: etree._Element, ctx: dict) -> None:
        """<guid> or <id>: a permalink (the default) is resolved, and is the link if none came first."""
        permalink = self.attrs(el).get("ispermalink", "true") == "true"
        value = self.uri_text(el) if permalink else self.repair(self.text(el).strip())
        ctx["id"] = value
        ctx.setdefault("guidislink", permalink and "link" not in ctx)
        if permalink:
            ctx.setdefault("link", value)

    def content(self, el: etree._Element, e: dict, default_type: str) -> None:
        """A body (content:encoded, Atom content, or a second summary): appended to content, and
        copied to summary when none is there yet (without summary_detail, as feedparser does)."""
        attrs = self.attrs(el)
        initial = map_type(attrs.get("type", default_type))
        value, ctype = self.construct(el, default_type, attrs)
        e.setdefault("content", []).append({"type": ctype, "value": value})
        if initial == "text/plain" or initial in HTML_TYPES:
            e.setdefault("summary", value)

    def author(self, el: etree._Element, ctx: dict, seen: int) -> None:
        """An author element, by feedparser's _start_author/_save_author/_sync_author_detail.

        A plain-text author simply becomes ctx['author']. One with name/email/uri children
        becomes 'name (email)'; after an earlier author, feedparser would first seed the new
        author's details from the earlier one's text, which is not modelled: decline."""
        self.attrs(el)
        if not len(el):
            ctx["author"] = self.repair(self.text(el).strip())
            return
        if seen or (el.text or "").strip() or any((part.tail or "").strip() for part in el):
            raise _Decline
        detail: dict[str, str] = {}
        for part in el:
            name = self.name(part)
            self.attrs(part)
            if name in ("name", "email"):
                value = self.text(part).strip()
            elif name in ("uri", "url", "homepage"):
                value = self.uri_text(part)
                name = "href"
            else:
                raise _Decline
            self._sync(ctx, detail)
            detail[name] = value
        ctx["author"] = ""
        self._sync(ctx, detail)

    @staticmethod
    def _sync(ctx: dict, detail: dict[str, str]) -> None:
        name, email = detail.get("name"), detail.get("email")
        if name or email:
            ctx["author"] = f"{name} ({email})" if name and email else name or email

    def media(self, el: etree._Element, e: dict, name: str) -> None:
        """media:content, media:thumbnail and media:group (which feedparser sees through)."""
        attrs = self.attrs(el)
        if name == "media_thumbnail":
            e.setdefault("media_thumbnail", []).append(attrs)
            url = self.uri_text(el)
            if url.strip() and "url" not in attrs:
                attrs["url"] = url
            return
        if name == "media_content":
            e.setdefault("media_content", []).append(attrs)
        for child in el:
            child_name = self.name(child)
            if child_name in _MEDIA:
                self.media(child, e, child_name)
            else:
                self.other(child, child_name)

    def image(self, el: etree._Element, depth: int, name: str) -> None:
        """<image> or <textinput>: their parts stay inside them, but a title there moves
        feedparser's title_depth, which decides whether a later channel title counts."""
        self.attrs(el)
        self.title_depth = -1
        parts = _IMAGE_PARTS if name == "image" else _TEXTINPUT_PARTS
        for part in el:
            part_name = self.name(part)
            if part_name not in parts:
                raise _Decline
            if part_name == "title":
                value, _ = self.construct(part, "text/plain")
                if value:
                    self.title_depth = depth + 1
            else:
                self.attrs(part)
                self.text(part)
