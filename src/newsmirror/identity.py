"""Which entries are the same article, and whether an article's content changed.

Pure functions over plain data (no I/O), so the decisions a pass makes are easy to test.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TypeVar, cast

from .htmltokens import unescape
from .model import ParsedEntry

T = TypeVar("T")
_TAG = re.compile(r"<[^>]*>")


def normalized_text(body: str | None) -> str:
    """The words of a body: no markup, entities decoded, white space collapsed.

    What does not change what a reader reads (markup, spacing, and with the markup every link
    target with its tracking parameters, every image URL with its proxy) never counts as an edit.

    The result must never change for a given body: its hash is stored for every archived
    article, and a different one would make every archived article look edited.
    """
    if not body:
        return ""
    # Every match of _TAG ends at a ">", so none lies past the last one; cutting the body there
    # spares the scan from each later "<" to the end that made a body of "<" and no ">"
    # quadratic (and changes no match).
    end = body.rfind(">") + 1
    text = _TAG.sub(" ", body) if end == len(body) else _TAG.sub(" ", body[:end]) + body[end:]
    return _collapse(unescape(text))


def _collapse(text: str) -> str:
    """White space runs made one space, ends trimmed (str.split knows the same white space as
    the regular expression `\\s+`, at a fraction of its cost)."""
    return " ".join(text.split())


def visible_length(body: str | None) -> int:
    """Characters a reader sees: how long a body really is."""
    return len(normalized_text(body))


def content_hash(body: str | None) -> str:
    """A hash of the text a reader reads; equal hashes mean no edit to the body."""
    return hashlib.sha256(normalized_text(body).encode("utf-8")).hexdigest()[:32]


FULL_BODY = 300  # characters of text, markup and white space left out: an article, not a teaser


def body_key(text: str) -> str | None:
    """The key of a full body (`text` as `normalized_text` gives it), None for a shorter one.

    Two entries with different guids are one story only when both carry the same full body
    (decide.py): a teaser, a title or an empty body is shared by too many different items.
    """
    if len(text) - text.count(" ") < FULL_BODY:  # normalized: white space is single spaces
        return None
    return hashlib.sha256(("body\n" + text).encode("utf-8")).hexdigest()[:32]


def entry_hash(title: str, text: str) -> str:
    """What a feed said about an entry (its title and the `normalized_text` of its body): a
    change here is a possible edit, noticed without cleaning anything."""
    return hashlib.sha256((_collapse(title) + "\n" + text).encode("utf-8")).hexdigest()[:32]


def same_title(a: str, b: str) -> bool:
    return _collapse(a) == _collapse(b)


def order_new(items: list[T], now: int, entry: Callable[[T], ParsedEntry] | None = None) -> list[T]:
    """New entries (or items holding them: `entry` finds the entry in one) oldest first, for
    numbering. Feeds list newest first, so among equal dates (or none) the one later in the
    document is the older."""
    def key(pair: tuple[int, T]) -> tuple[int, int]:
        item = pair[1]
        published = (entry(item) if entry is not None else cast(ParsedEntry, item)).published
        return (published if published is not None else now, -pair[0])

    return [item for _, item in sorted(enumerate(items), key=key)]
