"""The CPU stages of one feed (parse, identify, clean), as plain functions over plain data.

They run in a worker process (workers.py), under the feed's time budget, fed whole feeds: the
worker parses the document, looks its entries up in the archive (a read-only connection: WAL
lets it read while the pass writes), and cleans the new ones, so that only new entries travel
back to the main process. Entries that want their article page come back unbuilt: the page is
fetched by the main process (network), then `compose` and `finish` complete them. At most
`max_items` new entries are taken from one document; the others, and all new ones while older
entries of the feed still wait, come back as the backlog, to wait for a later pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .clean import clean
from .config import ImageSettings
from .decide import Verdict, decide, keys
from .extract import header_block, needs_page
from .htmltokens import is_tag, split, tag_name
from .identity import content_hash, normalized_text, order_new, visible_length
from .images import rewriter
from .model import Extracted, ParsedEntry, pickled_by_fields
from .parse import parse
from .store import EntryRow, Store, open_store


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
    max_items: int = 1000
    max_article_bytes: int = 2 * 1024 * 1024
    store_url: str | None = None  # [store] url: PostgreSQL, else the SQLite under state_dir


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
    waiting: int | None = None  # id of its row in the waiting table, when it waited for a later pass
    body_key: str | None = None  # identity.body_key of the feed's text


@dataclass(frozen=True, slots=True)
class Prepared:
    title: str | None
    ttl_minutes: int | None
    new: list[Candidate]  # oldest first, the order they are numbered in
    changed: list[Candidate]  # archived entries whose title or body the feed now gives differently
    seen: list[tuple[int, str]]  # (entry id, feed hash) to remember for entries read back by reindex
    carried: list[int]  # ids of the archived entries the document still carries (takedown checks)
    backlog: list[Candidate] = field(default_factory=list)  # new, unbuilt, oldest first: to wait
    carried_waiting: list[int] = field(default_factory=list)  # ids of waiting entries the document carries
    warning: str | None = None  # what the parser skipped or recovered from
    learned: list[tuple[EntryRow, str, str | None]] = field(default_factory=list)  # (archived entry, its guid, body key)


_readonly: dict[tuple[Path, str | None], Store] = {}


def prepare(job: FeedJob) -> Prepared:
    """Parse a feed document, decide what each entry is (decide.py) and build its new entries
    (all but those waiting for a page)."""
    parsed = parse(job.content, job.url, job.content_type, job.timezone)
    where = (job.state_dir, job.store_url)
    store = _readonly.get(where) or _readonly.setdefault(where, open_store(job.state_dir, job.store_url, readonly=True))
    new, changed, seen, carried, carried_waiting, learned = [], [], [], [], [], []
    entries = order_new(list(parsed.entries), job.now)  # oldest first: the order of arrival
    texts = [normalized_text(raw(e)) for e in entries]
    sightings = [keys(e, text) for e, text in zip(entries, texts)]
    decisions = decide(sightings, store.known(job.feed_id, sightings), store.known_waiting(job.feed_id, sightings),
                       store.shared_with(job.feed_id, sightings))
    for e, text, k, d in zip(entries, texts, sightings, decisions):
        if d.verdict is Verdict.NEW:
            new.append(Candidate(e, needs_page(e, job.full_text, text), k.said, canonical=k.canonical, body_key=k.body))
        elif d.verdict is Verdict.WAITING:
            assert d.waiting is not None
            carried_waiting.append(d.waiting)  # taken already, its turn comes
        elif d.row is not None:
            carried.append(d.row.id)
            if d.learned:
                assert k.guid is not None
                learned.append((d.row, k.guid, k.body))
            if d.verdict is Verdict.SEEN:
                seen.append((d.row.id, k.said))
            elif d.verdict is Verdict.CHANGED:
                # A page-built article is rebuilt from its page.
                changed.append(Candidate(e, d.row.from_page, k.said, d.row, body_key=k.body))
    # Older entries of the feed still wait: the new ones queue behind them.
    take = 0 if carried_waiting or store.has_waiting(job.feed_id) else job.max_items
    new, backlog = new[:take], new[take:]
    changed = changed[:job.max_items]  # the rest stay changed: their turn comes on the next passes
    if job.images.mode != "local" and not job.images.fallbacks:  # else the network first: built by the caller
        ready = [c for c in new + changed if not c.wants_page]
        built = finish([(raw(c.entry), c.entry.link or job.url) for c in ready], job.images, max_bytes=job.max_article_bytes)
        for c, (body, digest) in zip(ready, built):
            # Built: the raw body need not travel back to the main process.
            c.body, c.hash, c.entry = body, digest, replace(c.entry, content=None, summary=None)
    return Prepared(parsed.title, parsed.ttl_minutes, new, changed, seen, carried, backlog, carried_waiting,
                    parsed.warning, learned)


def within_pages(candidates: list[Candidate], pages: int) -> tuple[list[Candidate], list[Candidate]]:
    """(those that go now, those that wait) for candidates oldest first and `pages` pages left:
    from the first that wants a page beyond them, it and every younger one wait, so that
    numbers keep to the order of age."""
    for i, c in enumerate(candidates):
        if c.wants_page:
            if pages <= 0:
                return candidates[:i], candidates[i:]
            pages -= 1
    return candidates, []


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
           choices: dict[str, int] | None = None, max_bytes: int | None = None) -> list[tuple[str, str]]:
    """(cleaned body, content hash) for each (raw body, base URL); a body over `max_bytes` is cut."""
    rewrite = rewriter(images, local, choices)
    bodies = [clean(body, base, rewrite) for body, base in items]
    if max_bytes is not None:
        bodies = [cut(body, max_bytes) for body in bodies]
    return [(body, content_hash(body)) for body in bodies]


# Elements that do not nest (no end tag), and those whose end is a good place to cut a body.
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_BLOCK_ENDS = frozenset("p div li ul ol table blockquote pre figure h2 h3 h4 h5 h6 dl section".split())
_CUT_ROOM = 8192  # bytes kept free under the limit for the closing tags and the mark


def cut_mark(size: int) -> str:
    """What ends a body that was cut: a reader must know the archive does not hold all of it."""
    return f"<p><i>（正文过长：原文 {size:,} 字节，此处截断）</i></p>"


def cut(body: str, limit: int) -> str:
    """`body` (cleaned: well-formed) as it is when it fits in `limit` bytes of UTF-8; else cut at
    the last block boundary that fits, its open elements closed, and marked as cut."""
    size = len(body.encode("utf-8"))
    if size <= limit:
        return body
    room = limit - min(_CUT_ROOM, limit // 2)
    kept = 0
    stack: list[str] = []
    best: tuple[int, tuple[str, ...]] = (0, ())  # (pieces kept, elements open there)
    pieces = split(body)
    for i, piece in enumerate(pieces):
        kept += len(piece.encode("utf-8"))
        if kept > room:
            break
        if not is_tag(piece):
            continue
        name = tag_name(piece)
        if piece[1] == "/":
            if name in stack:
                while stack.pop() != name:
                    pass
            if name in _BLOCK_ENDS:
                best = (i + 1, tuple(stack))
        elif name == "br":
            best = (i + 1, tuple(stack))
        elif name not in _VOID and not piece.endswith("/>"):
            stack.append(name)
    count, still_open = best
    return "".join(pieces[:count]) + "".join(f"</{name}>" for name in reversed(still_open)) + cut_mark(size)
