"""Plain data passed between the stages of a pass (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter
from typing import TypeVar

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
