"""OPML, the feed-list format of every reader: `import-opml` and `export-opml`.

Read with lxml without entity expansion or network access: an OPML file comes from elsewhere,
and so do its titles (made one line: they become list titles). Its URLs are checked by the
command that adds them, as any other feed URL.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from .config import FeedConfig, clean_title

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)


class NotOPML(ValueError):
    """The file holds no OPML outlines."""


def read(data: bytes) -> list[tuple[str, str | None]]:
    """(feed URL, title) of every outline with an `xmlUrl`, categories flattened, in file order."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise NotOPML(f"not OPML: {exc}") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise NotOPML("not OPML: no <opml> root element")
    found = []
    for outline in root.iter("{*}outline", "outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url:
            found.append((url, clean_title(outline.get("title") or outline.get("text"))))
    return found


def write(feeds: Iterable[FeedConfig], title: str = "newsmirror") -> bytes:
    root = etree.Element("opml", version="2.0")
    etree.SubElement(etree.SubElement(root, "head"), "title").text = title
    body = etree.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title or feed.id, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        etree.SubElement(body, "outline", attrs)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
