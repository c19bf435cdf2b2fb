"""Which entries are the same article, and whether an article's content changed.

Pure functions over plain data (no I/O), so the decisions a pass makes are easy to test.
"""

from __future__ import annotations

import hashlib
import html
import re

from . import urls
from .model import ParsedEntry

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def normalized_text(body: str | None) -> str:
    """The words of a body: no markup, entities decoded, white space collapsed.

    What does not change what a reader reads (markup, spacing, and with the markup every link
    target with its tracking parameters, every image URL with its proxy) never counts as an edit.
    """
    if not body:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body))).strip()


def visible_length(body: str | None) -> int:
    """Characters a reader sees: how long a body really is."""
    return len(normalized_text(body))


def content_hash(body: str | None) -> str:
    """A hash of the text a reader reads; equal hashes mean no edit to the body."""
    return hashlib.sha256(normalized_text(body).encode("utf-8")).hexdigest()[:32]


def entry_key(entry: ParsedEntry) -> str:
    """The identity of an entry within one document: guid, else canonical link, else title."""
    if entry.guid:
        return "g:" + entry.guid
    if entry.link:
        return "l:" + urls.canonical(entry.link)
    return "t:" + entry.title


def order_new(entries: list[ParsedEntry], now: int) -> list[ParsedEntry]:
    """New entries oldest first, for numbering. Feeds list newest first, so among equal dates
    (or none) the one later in the document is the older."""
    indexed = list(enumerate(entries))
    indexed.sort(key=lambda p: (p[1].published if p[1].published is not None else now, -p[0]))
    return [e for _, e in indexed]


def unique(entries: tuple[ParsedEntry, ...] | list[ParsedEntry]) -> list[ParsedEntry]:
    """The document's entries with repeats (same key) dropped, first one kept."""
    seen: set[str] = set()
    out = []
    for e in entries:
        key = entry_key(e)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
