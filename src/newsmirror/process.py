"""The CPU stages of one feed (parse, identify, clean), as plain functions over plain data.

On a big pass they run in a pool worker (workers.py), fed whole feeds: the worker parses the
document, looks its entries up in the archive (a read-only connection: WAL lets it read while
the pass writes), and cleans the new ones, so that only new entries travel back to the main
process. Entries that want their article page come back unbuilt: the page is fetched by the
main process (network), then `compose` and `finish` complete them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import urls
from .clean import clean
from .config import ImageSettings
from .extract import header_block, needs_page
from .identity import content_hash, order_new, unique, visible_length
from .images import rewriter
from .model import Extracted, ParsedEntry
from .parse import parse
from .store import Store


@dataclass(frozen=True, slots=True)
class FeedJob:
    feed_id: str
    content: bytes
    url: str
    content_type: str
    timezone: str
    full_text: str
    images: ImageSettings
    state_dir: Path
    now: int


@dataclass(slots=True)
class Candidate:
    """A new entry on its way to the archive."""

    entry: ParsedEntry
    wants_page: bool
    body: str | None = None  # cleaned, once built
    hash: str | None = None
    from_page: bool = False
    partial: bool = False  # its page was wanted and could not be had


@dataclass(frozen=True, slots=True)
class Prepared:
    title: str | None
    ttl_minutes: int | None
    new: list[Candidate]  # oldest first, the order they are numbered in


_readonly: dict[Path, Store] = {}


def prepare(job: FeedJob, store: Store | None = None) -> Prepared:
    """Parse a feed document and build its new entries (all but those waiting for a page)."""
    parsed = parse(job.content, job.url, job.content_type, job.timezone)
    if store is None:
        store = _readonly.get(job.state_dir) or _readonly.setdefault(job.state_dir, Store(job.state_dir, readonly=True))
    fresh = [e for e in unique(parsed.entries)
             if store.find(job.feed_id, e.guid, urls.canonical(e.link) if e.link else None) is None]
    new = [Candidate(e, needs_page(e, job.full_text)) for e in order_new(fresh, job.now)]
    if job.images.mode != "local":  # local copies need the network first: built by the caller
        ready = [c for c in new if not c.wants_page]
        for c, (body, digest) in zip(ready, finish([(raw(c.entry), c.entry.link or job.url) for c in ready], job.images)):
            c.body, c.hash = body, digest
    return Prepared(parsed.title, parsed.ttl_minutes, new)


def raw(entry: ParsedEntry) -> str:
    """The body the feed gave: full content first, then the summary."""
    return entry.content or entry.summary or ""


def compose(entry: ParsedEntry, page: tuple[Extracted, str] | None, fallback_base: str, now: int) -> tuple[str, str, bool]:
    """(raw body, base URL, built from the page): the page's article with the header block,
    unless the feed's own body is longer (an extraction that lost text is not an improvement)."""
    body, base = raw(entry), entry.link or fallback_base
    if page is None:
        return body, base, False
    extracted, page_url = page
    if visible_length(extracted.body) < visible_length(body):
        return body, base, False
    published = entry.published if entry.published is not None else (extracted.published or now)
    return header_block(published, extracted.lead_image or entry.image, extracted.caption) + extracted.body, page_url, True


def finish(items: list[tuple[str, str]], images: ImageSettings, local: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(cleaned body, content hash) for each (raw body, base URL)."""
    rewrite = rewriter(images, local)
    bodies = [clean(body, base, rewrite) for body, base in items]
    return [(body, content_hash(body)) for body in bodies]
