"""The CPU stages of one feed (parse, identify, clean), as plain functions over plain data.

On a big pass they run in a pool worker (workers.py), fed whole feeds: the worker parses the
document, looks its entries up in the archive (a read-only connection: WAL lets it read while
the pass writes), and cleans the new ones, so that only new entries travel back to the main
process. Entries that want their article page come back unbuilt: the page is fetched by the
main process (network), then `compose` and `finish` complete them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from . import urls
from .clean import clean
from .config import ImageSettings
from .extract import header_block, needs_page
from .identity import content_hash, entry_hash, normalized_text, order_new, unique, visible_length
from .images import rewriter
from .model import Extracted, ParsedEntry, pickled_by_fields
from .parse import parse
from .store import EntryRow, Store


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


@pickled_by_fields
@dataclass(slots=True)
class Candidate:
    """An entry on its way to the archive: new, or an archived one the feed now tells differently."""

    entry: ParsedEntry
    wants_page: bool
    feed_hash: str | None = None
    existing: EntryRow | None = None  # set when this may be an edit of an archived article
    canonical: str | None = None  # of its link
    body: str | None = None  # cleaned, once built
    hash: str | None = None
    from_page: bool = False
    partial: bool = False  # its page was wanted and could not be had


@dataclass(frozen=True, slots=True)
class Prepared:
    title: str | None
    ttl_minutes: int | None
    new: list[Candidate]  # oldest first, the order they are numbered in
    changed: list[Candidate]  # archived entries whose title or body the feed now gives differently
    seen: list[tuple[int, str]]  # (entry id, feed hash) to remember for entries read back by reindex
    carried: list[int]  # ids of the archived entries the document still carries (takedown checks)


_readonly: dict[Path, Store] = {}


def prepare(job: FeedJob, store: Store | None = None) -> Prepared:
    """Parse a feed document and build its new entries (all but those waiting for a page)."""
    parsed = parse(job.content, job.url, job.content_type, job.timezone)
    if store is None:
        store = _readonly.get(job.state_dir) or _readonly.setdefault(job.state_dir, Store(job.state_dir, readonly=True))
    new, changed, seen, carried = [], [], [], []
    entries = unique(parsed.entries)
    texts = [normalized_text(raw(e)) for e in entries]
    said_all = [entry_hash(e.title, text) for e, text in zip(entries, texts)]
    keys = [(e.guid, urls.canonical(e.link) if e.link else None, said) for e, said in zip(entries, said_all)]
    for e, text, (_, canonical, said), row in zip(entries, texts, keys, store.find_many(job.feed_id, keys)):
        if row is None:
            new.append(Candidate(e, needs_page(e, job.full_text, text), said, canonical=canonical))
            continue
        carried.append(row.id)
        if row.feed_id != job.feed_id:
            continue  # another feed's article this feed shares: that feed's text is the archive's
        if row.feed_hash is None and row.from_page:
            # Read back by reindex (every run of a stateless CI runner): refetching every page
            # to compare would cost a page per entry per run; remember what the feed says now.
            seen.append((row.id, said))
        elif row.feed_hash != said:
            # An edit, or (feed_hash unknown, after reindex) a body to compare with its file.
            # A page-built article is rebuilt from its page.
            changed.append(Candidate(e, row.from_page, said, row))
    new = order_new(new, job.now, lambda c: c.entry)
    if job.images.mode != "local" and not job.images.fallbacks:  # else the network first: built by the caller
        ready = [c for c in new + changed if not c.wants_page]
        for c, (body, digest) in zip(ready, finish([(raw(c.entry), c.entry.link or job.url) for c in ready], job.images)):
            # Built: the raw body need not travel back to the main process.
            c.body, c.hash, c.entry = body, digest, replace(c.entry, content=None, summary=None)
    return Prepared(parsed.title, parsed.ttl_minutes, new, changed, seen, carried)


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


def finish(items: list[tuple[str, str]], images: ImageSettings, local: dict[str, str] | None = None,
           choices: dict[str, int] | None = None) -> list[tuple[str, str]]:
    """(cleaned body, content hash) for each (raw body, base URL)."""
    rewrite = rewriter(images, local, choices)
    bodies = [clean(body, base, rewrite) for body, base in items]
    return [(body, content_hash(body)) for body in bodies]
