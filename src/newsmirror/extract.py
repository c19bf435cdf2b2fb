"""Full text from an article page: body, lead image, caption, date.

The fallback chain is explicit: the site's rule (sites.py or the feed's configuration), then
trafilatura (paragraphs, images and links kept), then readability. The result is raw HTML for
the clean stage; `header_block` builds the block the original mirror's full-text source wrote.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import sites, urls
from .clean import real_image
from .config import SiteRule
from .dates import http_date, parse_date
from .htmltokens import Token
from .identity import normalized_text
from .model import Extracted, ParsedEntry

_SENTENCE_END = re.compile(r"[。！？!?]|\.(\s|$)")
# A body shorter than this, or of fewer sentences, is taken for a summary (VOA's descriptions are
# one or two sentences; a full report, even a brief, has more).
MIN_FULL_CHARS = 150
MIN_FULL_SENTENCES = 4


def needs_page(entry: ParsedEntry, mode: str) -> bool:
    """Whether to fetch the article page for this entry (`full_text` = auto/always/never)."""
    if mode == "never" or not entry.link or not urls.is_http(entry.link):
        return False
    if mode == "always":
        return True
    body = entry.content or entry.summary
    if not body:
        return True
    if entry.content and entry.summary and normalized_text(entry.content) == normalized_text(entry.summary):
        return True
    text = normalized_text(body)
    return len(text) < MIN_FULL_CHARS or len(_SENTENCE_END.findall(text)) < MIN_FULL_SENTENCES


def extract(page: str, url: str, rule: SiteRule | None = None) -> Extracted | None:
    """The article in `page` (decoded HTML), or None when nothing like an article is there."""
    tree = LexborHTMLParser(page)
    meta = _meta(tree)
    chosen = sites.rule_for(url, rule) or (sites.rule_for(meta["canonical"]) if meta["canonical"] else None)
    found = _by_rule(tree, chosen) if chosen else None
    if found is None:
        body = _trafilatura(page, url) or _readability(page)
        if not body:
            return None
        found = (body, None, None)
    body, lead, caption = found
    if lead is None and meta["image"]:
        lead = meta["image"]
    return Extracted(
        body=body,
        lead_image=urls.join(url, lead) if lead else None,
        caption=caption,
        published=parse_date(meta["published"], "UTC") if meta["published"] else None,
        title=meta["title"],
    )


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


def _meta(tree: LexborHTMLParser) -> dict[str, str | None]:
    def content(selector: str, attr: str = "content") -> str | None:
        node = tree.css_first(selector)
        value = node.attributes.get(attr) if node else None
        return value.strip() if value else None

    return {
        "canonical": content("link[rel=canonical]", "href"),
        "image": content("meta[property='og:image']"),
        "published": content("meta[property='article:published_time']") or content("time[datetime]", "datetime"),
        "title": content("meta[property='og:title']"),
    }


@lru_cache(maxsize=256)
def _selectors(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _first(tree: LexborHTMLParser | LexborNode, selector: str | None) -> LexborNode | None:
    for s in _selectors(selector or ""):
        if node := tree.css_first(s):
            return node
    return None


def _by_rule(tree: LexborHTMLParser, rule: SiteRule) -> tuple[str, str | None, str | None] | None:
    body = _first(tree, rule.body)
    if body is None:
        return None
    lead = caption = None
    if image := _first(tree, rule.lead_image):
        lead = real_image(Token("tag", "", "img", attrs=dict(image.attributes)))
    if node := _first(tree, rule.caption):
        caption = " ".join(node.text(separator=" ").split()) or None
    if caption is None and image is not None:
        caption = (image.attributes.get("alt") or "").strip() or None
    for selector in (*sites.FURNITURE, *rule.remove):
        for node in body.css(selector):
            node.decompose()
    if lead:  # the lead image is in the header block; do not show it twice
        for img in body.css("img"):
            if real_image(Token("tag", "", "img", attrs=dict(img.attributes))) == lead:
                img.decompose()
    inner = "".join(child.html or "" for child in body.iter(include_text=True))
    if not normalized_text(inner):
        return None
    return inner, lead, caption


def _trafilatura(page: str, url: str) -> str | None:
    import trafilatura  # heavy: loaded only when a page needs it

    out = trafilatura.extract(page, url=url, output_format="html", include_images=True, include_links=True,
                              include_comments=False, include_tables=True, favor_precision=True)
    if not out:
        return None
    m = re.search(r"<body[^>]*>(.*)</body>", out, re.S)
    return m.group(1) if m else out


def _readability(page: str) -> str | None:
    from readability import Document

    try:
        summary = Document(page).summary(html_partial=True)
    except Exception:  # readability raises bare Exceptions on pages it cannot read
        return None
    return summary if normalized_text(summary) else None
