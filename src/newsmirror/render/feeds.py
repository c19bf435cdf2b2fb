"""Re-published feeds: `feeds/<feed id>.xml` (RSS 2.0), `.atom` (Atom 1.0), `.json` (JSON Feed
1.1), and `feeds/all.*` across the mirror.

Readers subscribe to the mirror instead of the blocked source: full articles (images already
through the proxy), a link to the source, and a link to the mirror's copy when the mirror's
address is known (`[publish] site_url`). Built with lxml and json, never by string pasting, so
the documents are well-formed whatever the titles hold; every link passes `safe_link`, so a
stored `javascript:` link is left out instead of handed to a feed reader.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from lxml import etree

from .. import archive as files
from ..dates import iso
from ..model import Article
from .links import safe_link

ATOM = "http://www.w3.org/2005/Atom"
GENERATOR = "newsmirror"


def mirror_link(a: Article, site_url: str | None) -> str:
    """The mirror's copy of an article on the static site, when the site's address is known."""
    return safe_link(f"{site_url.rstrip('/')}/articles/{a.feed_id}/{a.number}.html") if site_url else ""


def _guid(a: Article) -> str:
    return f"newsmirror:{a.feed_id}/{a.number}"


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def rss(title: str, link: str, articles: Sequence[Article], site_url: str | None = None) -> bytes:
    root = etree.Element("rss", version="2.0", nsmap={"atom": ATOM})
    channel = etree.SubElement(root, "channel")
    etree.SubElement(channel, "title").text = title
    etree.SubElement(channel, "link").text = safe_link(link)
    etree.SubElement(channel, "description").text = f"{title} (newsmirror)"
    etree.SubElement(channel, "generator").text = GENERATOR
    for a in articles:
        item = etree.SubElement(channel, "item")
        etree.SubElement(item, "title").text = a.title
        if href := mirror_link(a, site_url) or safe_link(a.link):
            etree.SubElement(item, "link").text = href
        guid = etree.SubElement(item, "guid", isPermaLink="false")
        guid.text = _guid(a)
        etree.SubElement(item, "pubDate").text = format_datetime(_when(a.published), usegmt=True)
        etree.SubElement(item, "description").text = _with_source(a)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def atom(title: str, link: str, articles: Sequence[Article], site_url: str | None = None) -> bytes:
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    etree.SubElement(root, f"{{{ATOM}}}title").text = title
    home = safe_link(link)
    etree.SubElement(root, f"{{{ATOM}}}id").text = home or f"urn:newsmirror:{title}"
    if home:
        etree.SubElement(root, f"{{{ATOM}}}link", href=home)
    etree.SubElement(root, f"{{{ATOM}}}updated").text = iso(max((a.published for a in articles), default=0))
    etree.SubElement(root, f"{{{ATOM}}}generator").text = GENERATOR
    for a in articles:
        entry = etree.SubElement(root, f"{{{ATOM}}}entry")
        etree.SubElement(entry, f"{{{ATOM}}}title").text = a.title
        etree.SubElement(entry, f"{{{ATOM}}}id").text = _guid(a)
        source = safe_link(a.link)
        if mirror := mirror_link(a, site_url):
            etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=mirror)
        if source:
            etree.SubElement(entry, f"{{{ATOM}}}link", rel="via" if mirror else "alternate", href=source)
        etree.SubElement(entry, f"{{{ATOM}}}published").text = iso(a.published)
        etree.SubElement(entry, f"{{{ATOM}}}updated").text = iso(a.published)
        etree.SubElement(entry, f"{{{ATOM}}}author").append(_name(a.feed_id))
        etree.SubElement(entry, f"{{{ATOM}}}content", type="html").text = _with_source(a)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _name(text: str) -> etree._Element:
    name = etree.Element(f"{{{ATOM}}}name")
    name.text = text
    return name


def json_feed(title: str, link: str, articles: Sequence[Article], site_url: str | None = None) -> bytes:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": safe_link(link),
        "items": [_json_item(a, site_url) for a in articles],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _json_item(a: Article, site_url: str | None) -> dict[str, str | None]:
    """One JSON Feed item; `url` and `external_url` are left out rather than given a link that is not http(s)."""
    source = safe_link(a.link)
    links = {"url": mirror_link(a, site_url) or source, "external_url": source}
    return {"id": _guid(a), **{k: v for k, v in links.items() if v}, "title": a.title, "content_html": a.body,
            "date_published": iso(a.published)}


def _with_source(a: Article) -> str:
    """The body, and a last line linking the source (RSS and Atom have no second link a reader
    shows); without an http(s) link, only the removal notice if any."""
    removed = " (已被删除)" if a.removed_at else ""
    if source := safe_link(a.link):
        return f'{a.body}<p><a href="{html.escape(source, quote=True)}">原文</a>{removed}</p>'
    return f"{a.body}<p>{removed.strip()}</p>" if removed else a.body


FORMATS = {"xml": rss, "atom": atom, "json": json_feed}  # file suffix -> writer


def write(folder: Path, name: str, title: str, link: str, articles: Sequence[Article], site_url: str | None) -> int:
    """Write `<name>.xml`, `.atom` and `.json` under `folder`; returns how many changed.
    A plain function of its arguments, so that a pool worker can do it while the pass goes on."""
    return sum(files.write_bytes(folder / f"{name}.{suffix}", render(title, link, articles, site_url))
               for suffix, render in FORMATS.items())
