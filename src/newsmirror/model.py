"""Plain data passed between the stages of a pass (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter
from typing import TypedDict, TypeVar

T = TypeVar("T")


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Pickle instances as their class and field values. A slotted dataclass otherwise pickles
    through Python-level __getstate__/__setstate__ that look its fields up for every instance,
    and a big pass sends 10,000 entries between processes."""
    values = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]
    cls.__reduce__ = lambda self: (cls, values(self))  # type: ignore[method-assign, assignment]
    return cls


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as the feed states it, normalized (absolute WHATWG link, date in ms UTC)."""

    title: str
    guid: str | None = None
    link: str | None = None
    published: int | None = None
    content: str | None = None  # the full body: content:encoded, Atom content, JSON content_html
    summary: str | None = None  # description / summary
    image: str | None = None  # enclosure or media:content image
    author: str | None = None
    updated: int | None = None  # when the entry says it last changed (published falls back to it)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    ttl_minutes: int | None = None
    warning: str | None = None  # the parser recovered from a problem in the document
    subtitle: str | None = None  # description / subtitle / tagline, as HTML
    id: str | None = None
    updated: int | None = None
    published: int | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a page gave: the article body and its header-block parts."""

    body: str
    lead_image: str | None = None
    caption: str | None = None
    published: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """An archived article as written to `articles/<feed>/<number>.md`."""

    feed_id: str
    number: int
    title: str
    link: str
    published: int
    body: str
    removed_at: int | None = None
    redacted: bool = False  # removed on request (tombstones.py): a list line without title or link


class NewEntry(TypedDict):
    """An article as it is first stored: the columns of the archive's `entries` table but its id
    (`store.EntryRow` without `id`). Built by `new_entry` alone, whether the article comes from a
    feed (pipeline) or from its file (reindex)."""

    feed_id: str
    number: int
    guid: str | None
    link: str
    canonical: str | None  # of its link
    title: str
    published: int  # ms since the epoch
    first_seen: int
    body: str  # cleaned
    source_hash: str  # what counts as an edit ("" until known: see reindex)
    from_page: bool
    partial: bool
    page_attempts: int
    removed_at: int | None
    feed_hash: str | None
    revised_at: int | None
    checked_at: int | None
    body_key: str | None  # identity.body_key of the feed's text: full-body twins are one story
    adopted: int  # decide.GUID_KNOWN (0), BY_LINK or BY_TITLE: what identifies it when its guid is unknown


def new_entry(feed_id: str, number: int, *, title: str, link: str, canonical: str | None, published: int,
              first_seen: int, body: str, source_hash: str, from_page: bool, partial: bool = False,
              guid: str | None = None, feed_hash: str | None = None, body_key: str | None = None) -> NewEntry:
    """A new article's record: never removed, revised or re-checked yet, its guid known (reindex
    then decides otherwise for files: `decide.adopted_keys`); a partial one (its page could not
    be had) has used one of its page attempts."""
    return NewEntry(feed_id=feed_id, number=number, guid=guid, link=link, canonical=canonical, title=title,
                    published=published, first_seen=first_seen, body=body, source_hash=source_hash,
                    from_page=from_page, partial=partial, page_attempts=int(partial), removed_at=None,
                    feed_hash=feed_hash, revised_at=None, checked_at=None, body_key=body_key, adopted=0)  # GUID_KNOWN
