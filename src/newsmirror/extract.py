"""Full text from an article page: body, lead image, caption, date.

The order is explicit: the site's rule (sites.py, refined by the feed's configuration), unless it
finds only a fragment; else the generic reading, trafilatura's body (paragraphs, images and
links kept) when it passes a check, and otherwise the better of it and readability's by a stated
rule (`_chosen`), measured on extractbench's public pages (bench/extract). Every path ends in
the same finishing step: page furniture out, the lead picture out of the body (the header block
shows it). The result is raw HTML for the clean stage; `header_block` builds the block the
original mirror's full-text source wrote.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from configparser import ConfigParser
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

import lxml.html
from lxml import etree
from lxml.html import HtmlElement
from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import sites, urls
from .clean import best_srcset, real_image
from .config import SiteRule
from .dates import http_date, parse_date
from .htmltokens import Tag, bound_nesting, split
from .identity import normalized_text
from .model import Extracted, ParsedEntry

_SENTENCE_END = re.compile(r"[。！？!?]|\.(\s|$)")
# A body shorter than this, or of fewer sentences, is taken for a summary (VOA's descriptions are
# one or two sentences; a full report, even a brief, has more).
MIN_FULL_CHARS = 150
MIN_FULL_SENTENCES = 4
# Text that may precede an article's opening picture without making it an inline one: a dateline
# or a kicker, not a paragraph.
MIN_LEAD_TEXT = 50


def needs_page(entry: ParsedEntry, mode: str, text: str | None = None) -> bool:
    """Whether to fetch the article page for this entry (`full_text` = auto/always/never);
    `text` is its body's `normalized_text` when the caller has it already."""
    if mode == "never" or not entry.link or not urls.is_http(entry.link):
        return False
    if mode == "always":
        return True
    body = entry.content or entry.summary
    if not body:
        return True
    if entry.content and entry.summary and normalized_text(entry.content) == normalized_text(entry.summary):
        return True
    text = normalized_text(body) if text is None else text
    return len(text) < MIN_FULL_CHARS or next(islice(_SENTENCE_END.finditer(text), MIN_FULL_SENTENCES - 1, None), None) is None


@dataclass(frozen=True, slots=True)
class _Meta:
    """What the page's <head> says about itself."""

    canonical: str | None
    description: str | None
    image: str | None
    published: str | None
    title: str | None


@dataclass(frozen=True, slots=True)
class _Found:
    body: str
    lead: str | None
    caption: str | None


def extract(page: str, url: str, rule: SiteRule | None = None) -> Extracted | None:
    """The article in `page` (decoded HTML), or None when nothing like an article is there."""
    page, document = _parsed(page)
    tree = LexborHTMLParser(page)
    meta = _meta(tree)
    # A page served from elsewhere (a mirror, a proxy, 127.0.0.1 in tests) still names its site
    # in <link rel=canonical>.
    site = url if sites.rule_for(url) or not meta.canonical else urls.join(url, meta.canonical)
    chosen = sites.rule_for(site, rule)
    found = _by_rule(tree, chosen, url) if chosen else None
    if found is None or _fragment(found):
        # A rule that finds only a fragment (the author line of an older layout) was written for
        # another layout: the generic reading replaces it when that finds more than a fragment.
        generic = _generic(document, tree, url, meta) if document is not None else None
        found = generic if found is None or (generic is not None and not _fragment(generic)) else found
    if found is None:
        return None
    return Extracted(
        body=found.body,
        lead_image=urls.join(url, found.lead) if found.lead else None,
        caption=found.caption,
        published=parse_date(meta.published, "UTC") if meta.published else None,
        title=meta.title,
    )


# libxml2, which trafilatura and readability read pages with, gives up on a page nested more than
# 255 deep (and loses all that follows); some room is left for where its tree differs from lexbor's.
PAGE_DEPTH = 192


# Pages as trafilatura reads them: comments and processing instructions out.
_PARSER = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                               remove_pis=True)


def _parsed(page: str) -> tuple[str, HtmlElement | None]:
    """The page and its lxml tree, which trafilatura and readability read. A page libxml2 finds
    nested deeper than it reads is bounded first (`_bounded`) and read again: libxml2 gives up
    there, lexbor slows down with the depth of the tree (a page of 100,000 nested <div> took it
    minutes). libxml2 tells at no cost; bounding every page took a third of the extraction's time."""
    document = _lxml(page)
    if any(error.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT for error in _PARSER.error_log):
        page = _bounded(page)
        document = _lxml(page)
    return page, document


def _lxml(page: str) -> HtmlElement | None:
    try:
        return lxml.html.document_fromstring(page.encode("utf-8", "replace"), parser=_PARSER)
    except etree.ParserError:  # an empty document
        return None


def _bounded(page: str) -> str:
    """The page with its nesting bounded (htmltokens.bound_nesting)."""
    lowered = page[:1024].lstrip("\ufeff \t\r\n\f").lower()
    # Without a doctype lexbor reads the page in quirks mode, where a <table> leaves an open <p>
    # open; with `<!DOCTYPE html>`, it closes it; any other doctype: not modelled.
    no_quirks = True if lowered.startswith("<!doctype html>") else None if "<!doctype" in lowered else False
    return "".join(bound_nesting(split(page), PAGE_DEPTH, table_closes_p=no_quirks))


def header_block(published: int, lead_image: str | None, caption: str | None) -> str:
    """`<div><i>DATE</i></div><img src=".." width="100%"><div><small style="color: #999;">CAPTION</small></div>`.

    The image URL is the original; the clean stage sends it through the proxy like any other.
    """
    parts = [f"<div><i>{http_date(published)}</i></div>"]
    if lead_image:
        parts.append(f'<img src="{html.escape(lead_image, quote=True)}" width="100%">')
    if caption:
        parts.append(f'<div><small style="color: #999;">{html.escape(caption, quote=False)}</small></div>')
    return "".join(parts)


def _meta(tree: LexborHTMLParser) -> _Meta:
    def content(selector: str, attr: str = "content") -> str | None:
        node = tree.css_first(selector)
        value = node.attributes.get(attr) if node else None
        return value.strip() if value else None

    return _Meta(
        canonical=content("link[rel=canonical]", "href"),
        description=content("meta[property='og:description']") or content("meta[name=description]"),
        image=content("meta[property='og:image']"),
        # BBC writes <meta name=...>, most others <meta property=...>.
        published=content("meta[property='article:published_time']") or content("meta[name='article:published_time']")
        or content("time[datetime]", "datetime"),
        title=content("meta[property='og:title']"),
    )


@lru_cache(maxsize=256)
def _selectors(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _first(scope: LexborHTMLParser | LexborNode, selector: str | None) -> LexborNode | None:
    """The first match of the first selector in the list that matches anything."""
    for s in _selectors(selector or ""):
        if node := scope.css_first(s):
            return node
    return None


def _by_rule(tree: LexborHTMLParser, rule: SiteRule, url: str) -> _Found | None:
    body = _first(tree, rule.body)
    if body is None:
        return None
    image = _first(tree, rule.lead_image)
    lead = _image_url(image) if image is not None else None
    # The caption belongs to the lead picture: looked for in its own figure when it has one, so
    # that a later figure's caption is never taken for the lead's.
    figure = _closest(image, "figure") if image is not None else None
    caption_node = _first(figure if figure is not None else tree, rule.caption)
    caption = _text(caption_node) if caption_node is not None else ""
    _strip(body, rule.remove)
    # A rule is authoritative about the lead picture: no og:image stand-in, which on these sites
    # is a logo or a video still when the article has no picture of its own.
    return _found(body, url, lead, caption or None, caption_node)


def _generic(document: HtmlElement, tree: LexborHTMLParser, url: str, meta: _Meta) -> _Found | None:
    """The body `_chosen` picks from trafilatura and readability. The lead picture is the one that
    opens the article, else og:image; its caption is the figcaption the page gives it, if any
    (extractors drop or inline captions)."""
    body = _chosen(document, tree, url)
    if body is not None:
        for node in _openers(body, meta):
            node.decompose()
    if body is None or not normalized_text(body.text()):
        return None
    image = _opening_image(body)
    lead = _image_url(image) if image is not None else meta.image
    caption = _figure_caption(tree, url, lead) if lead else None
    return _found(body, url, lead, caption, None)


def _fragment(found: _Found) -> bool:
    """Too little text for an article: what `needs_page` takes for a summary."""
    return len(normalized_text(found.body)) < MIN_FULL_CHARS


def _figure_caption(tree: LexborHTMLParser, url: str, image_url: str) -> str | None:
    """The caption of the page's figure showing `image_url`."""
    target = urls.join(url, image_url)
    for img in tree.css("figure img"):
        if (src := _image_url(img)) and urls.join(url, src) == target:
            figure = _closest(img, "figure")  # always there: the image was found in one
            caption = figure.css_first("figcaption") if figure is not None else None
            return (_text(caption) or None) if caption is not None else None
    return None


def _strip(body: LexborNode, remove: tuple[str, ...]) -> None:
    for selector in (*sites.FURNITURE, *remove):
        for node in body.css(selector):
            node.decompose()


def _found(body: LexborNode, url: str, lead: str | None, caption: str | None,
           caption_node: LexborNode | None) -> _Found | None:
    """The body without the lead picture (the header block shows it), or None when no article text
    is left."""
    if lead:
        target = urls.join(url, lead)
        for img in body.css("img"):
            if (src := _image_url(img)) and urls.join(url, src) == target:
                _lead_container(img, body, caption_node).decompose()
    # Text that is all links is what is left of navigation, not an article.
    if _is_all_links(body):
        return None
    return _Found("".join(child.html or "" for child in body.iter(include_text=True)), lead, caption)


def _lead_container(img: LexborNode, body: LexborNode, caption_node: LexborNode | None) -> LexborNode:
    """What to remove with the lead picture: its figure, or the box it shares with its caption
    (the caption is in the header block too), else the image alone."""
    holders = set() if caption_node is None else {node.mem_id for node in _lineage(caption_node)}
    for node in _lineage(img.parent):
        if node == body:
            break
        if node.tag == "figure" or node.mem_id in holders:
            return node
    return img


def _lineage(node: LexborNode | None) -> Iterator[LexborNode]:
    """The node, its parent, and so on up to the document."""
    while node is not None:
        yield node
        node = node.parent


def _text(node: LexborNode) -> str:
    """Text as shown: inline pieces joined as they are (no spaces forced between Chinese
    characters), runs of white space made one space."""
    return " ".join(node.text(separator="").split())


def _closest(node: LexborNode, tag: str) -> LexborNode | None:
    return next((n for n in _lineage(node) if n.tag == tag), None)


def _image_url(node: LexborNode) -> str | None:
    """The picture an image element really shows: a lazy-loading attribute, its srcset, or the
    source of its <picture> when its own src is only a placeholder."""
    url = real_image(Tag("img", {k: v or "" for k, v in node.attributes.items()}))
    if url and not url.startswith("data:"):
        return url
    picture = node.parent if node.parent is not None and node.parent.tag == "picture" else None
    source = picture.css_first("source[srcset], source[data-srcset]") if picture is not None else None
    if source is None:
        return None
    return best_srcset(source.attributes.get("srcset") or source.attributes.get("data-srcset") or "")


def _opening_image(body: LexborNode) -> LexborNode | None:
    """The first image of an extracted body when no paragraph comes before it (a dateline or a
    kicker may)."""
    before = 0
    for node in body.traverse(include_text=True):
        if node.tag == "img":
            return node
        if node.is_text_node:
            before += len(normalized_text(node.text_content))
            if before >= MIN_LEAD_TEXT:
                return None
    return None


def _chosen(document: HtmlElement, tree: LexborHTMLParser, url: str) -> LexborNode | None:
    """trafilatura's body when it passes `_plausible`; otherwise readability's is read too and
    `_better` picks between them."""
    _drop_captions(document)
    first = _finished(_trafilatura(document, url))
    if first is not None and _plausible(first, tree):
        return first
    second = _finished(_readability(document))
    if first is None or second is None:
        return first or second
    return second if _better(_blocks(second), _blocks(first)) else first


_BLOCK_TAGS = frozenset("address article blockquote dd div dl dt figcaption h1 h2 h3 h4 h5 h6 header li main ol p pre "
                        "section table td th tr ul".split())


@dataclass(frozen=True, slots=True)
class _Block:
    """A paragraph, item, cell or heading of a body: its text without white space, and how much
    of that text is link text."""

    text: str
    linked: int


def _blocks(body: LexborNode) -> list[_Block]:
    """The body's blocks, each the text nearest block element holds (text in the body itself is one block)."""
    texts: dict[int, list[str]] = {}
    linked: dict[int, int] = {}
    for node in body.traverse(include_text=True):
        if not node.is_text_node or not (text := "".join((node.text_content or "").split())):
            continue
        holder, in_link = body, False
        for parent in _lineage(node.parent):
            in_link = in_link or parent.tag == "a"
            if parent.tag in _BLOCK_TAGS or parent == body:
                holder = parent
                break
        texts.setdefault(holder.mem_id, []).append(text)
        linked[holder.mem_id] = linked.get(holder.mem_id, 0) + (len(text) if in_link else 0)
    return [_Block("".join(parts), linked[key]) for key, parts in texts.items()]


def _finished(extracted: str | None) -> LexborNode | None:
    """An extractor's body with page furniture and teaser lists out; None when no text is left."""
    body = LexborHTMLParser(extracted).body if extracted else None
    if body is None:
        return None
    _strip(body, ())
    for item in body.css("li"):
        if item.css_first("img") is not None and _is_all_links(item):
            item.decompose()
    return body if normalized_text(body.text()) else None


# A year and a clock time close together: "2024年05月17日08:31", "November 20, 2019 - 11:28 AMT".
_DATELINE = re.compile(r"(?:19|20)\d\d.{0,40}?\d{1,2}:\d\d|\d{1,2}:\d\d.{0,40}?(?:19|20)\d\d", re.S)
_ADDRESS = re.compile(r"https?://\S+")
_HEADINGS = frozenset("h2 h3 h4 h5 h6".split())


def _openers(body: LexborNode, meta: _Meta) -> list[LexborNode]:
    """The blocks (or loose text) opening the body that repeat what the house format shows
    elsewhere: a dateline (the header block's date), the headline (the title line), a heading
    that repeats the page's description (the standfirst), the page's address (a print header)."""
    title, description = _bare(meta.title or ""), _bare(meta.description or "").rstrip(".…")
    found: list[LexborNode] = []
    for node in body.traverse(include_text=True):
        if not node.is_text_node or not _bare(node.text_content or ""):
            continue
        holder = next(n for n in _lineage(node.parent) if n.tag in _BLOCK_TAGS or n == body)
        holder = node if holder == body else holder
        if found and holder == found[-1]:
            continue
        text = _bare(holder.text())
        if not (len(text) < MIN_PARAGRAPH and _DATELINE.search(text) or text == title or _ADDRESS.fullmatch(text)
                or holder.tag in _HEADINGS and description and text.rstrip(".…") == description):
            return found
        found.append(holder)
    return found


def _is_all_links(node: LexborNode) -> bool:
    """Whether every character of the node's text is link text (navigation, teasers)."""
    linked = sum(len(normalized_text(a.text())) for a in node.css("a"))
    return len(normalized_text(node.text())) <= linked


# trafilatura's settings: links, pictures and tables kept, reader comments out. Not
# favor_precision: it drops every paragraph that is one link and on some pages keeps a reprint
# notice instead of the article. fast: its own fallbacks (a port of readability, justext) cost as
# much as the extraction, and newsmirror asks readability itself when trafilatura's body fails a
# check (`_chosen`).
TRAFILATURA = {"output_format": "html", "include_images": True, "include_links": True, "include_comments": False,
               "include_tables": True, "fast": True}


@lru_cache(maxsize=1)
def _trafilatura_config() -> ConfigParser:
    """trafilatura's defaults without its last resort, the text of the whole page when the
    article found is short (MIN_EXTRACTED_SIZE): menus and footers would pass for an article,
    where readability is the better second reading."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "0")
    return config


# How much of the page's paragraph text (its <p>) trafilatura's body may hold and still be taken
# without a second opinion: less, and it has likely missed part of the article or taken a box
# instead of it; more, and it has taken text from outside the paragraphs (menus, teasers, a
# whole layout). On extractbench, 32 of 181 pages fall outside; readability is read for those only.
COVERAGE = (0.5, 1.2)
# Text of a block that reads as article text: this many characters (without white space) or more,
# at most this share of it link text. Shorter blocks are headlines, teasers, buttons, bylines.
MIN_PARAGRAPH = 80
MAX_LINKED = 0.3
# A body in which one block recurs this often is a listing of cards (each with its share bar).
LISTING = 3


def _plausible(body: LexborNode, tree: LexborHTMLParser) -> bool:
    """Whether trafilatura's body can stand alone: its text is a plausible share of the page's
    paragraph text, and it holds no layout table."""
    paragraphs = sum(len(_bare(p.text())) for p in tree.css("p"))
    low, high = COVERAGE
    return low * paragraphs <= len(_bare(body.text())) <= high * paragraphs and not _layout_table(body)


def _bare(text: str) -> str:
    """Text without white space: lengths that mean the same in every script."""
    return "".join(text.split())


def _layout_table(body: LexborNode) -> bool:
    """A table that holds paragraphs beside a cell of links only (the site's navigation): the
    page's layout, not a table of the article (a recipe's ingredients, a results table)."""
    return any(table.css_first("p, div") is not None and any(_is_all_links(cell) for cell in table.css("td, th"))
               for table in body.css("table"))


def _better(challenger: list[_Block], incumbent: list[_Block]) -> bool:
    """Whether `challenger` is the better body: a listing loses to an article; otherwise what
    each has that the other lacks decides, paragraphs of article text counting for it, and
    shorter or link-heavy blocks against it."""
    if _listing(challenger) != _listing(incumbent):
        return _listing(incumbent)
    return _worth(_extra(challenger, incumbent)) > _worth(_extra(incumbent, challenger))


def _listing(blocks: list[_Block]) -> bool:
    return max(Counter(block.text for block in blocks).values(), default=0) >= LISTING


def _extra(blocks: list[_Block], other: list[_Block]) -> list[_Block]:
    """The blocks of `blocks` that `other` lacks (as multisets, in order)."""
    left = Counter(block.text for block in other)
    extra = []
    for block in blocks:
        if left[block.text]:
            left[block.text] -= 1
        else:
            extra.append(block)
    return extra


def _worth(blocks: list[_Block]) -> int:
    return sum(len(b.text) - b.linked if len(b.text) >= MIN_PARAGRAPH and b.linked <= MAX_LINKED * len(b.text)
               else -len(b.text) for b in blocks)


# Captions and credits: the text around pictures. With pictures kept, trafilatura keeps it too;
# it is not the article's text (the header block shows the lead picture's caption). A container
# of the page (<body class="credits-page">) is never one.
_CAPTIONS = etree.XPath("//figcaption | //*[contains(@class, 'caption') or contains(@class, 'credit')]"
                        "[not(self::body or self::main or self::article or .//img or .//main or .//article)]")


def _drop_captions(document: HtmlElement) -> None:
    for node in _CAPTIONS(document):
        node.drop_tree()


def _trafilatura(document: HtmlElement, url: str) -> str | None:
    """trafilatura's body, written as HTML. (Its own HTML output is serialized as XML, where an
    empty link is `<a href=".."/>`: an HTML parser reads that as an open <a> wrapping the rest of
    the article. `extract` also fingerprints the text, a fifth of its time, for nothing here.)"""
    import trafilatura  # heavy: loaded only when a page needs it
    from trafilatura.htmlprocessing import convert_to_html

    found = trafilatura.bare_extraction(document, url=url, config=_trafilatura_config(), **TRAFILATURA)  # type: ignore[arg-type]
    if not isinstance(found, trafilatura.settings.Document) or found.body is None or not len(found.body):
        return None
    return etree.tostring(convert_to_html(found.body), method="html", encoding="unicode")


def _readability(document: HtmlElement) -> str | None:
    """readability's body; it rewrites the tree it reads, so it is the last to read it."""
    from readability import Document  # type: ignore[import-untyped]

    try:
        summary = Document(document).summary(html_partial=True)
    except Exception:  # noqa: BLE001 -- readability raises bare Exceptions on pages it cannot read
        return None
    return summary if normalized_text(summary) else None
