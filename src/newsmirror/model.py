"""Plain data passed between the stages of a pass (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    ttl_minutes: int | None = None
    warning: str | None = None  # the parser recovered from a problem in the document


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


@dataclass(slots=True)
class FeedResult:
    """What one pass did for one feed: the line `run` prints and `list` remembers."""

    feed_id: str
    status: str = "unchanged"  # "new", "unchanged", "failed"
    new: int = 0
    updated: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.feed_id}: failed: {self.error}"
        parts = [f"{self.new} new" if self.new else "unchanged"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        return f"{self.feed_id}: {', '.join(parts)}" + "".join(f" ({n})" for n in self.notes)
