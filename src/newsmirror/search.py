"""Full-text search over the archive, Chinese first, in `DIR/.newsmirror/search.db`.

Chinese has no spaces between words, so words cannot be tokens: the index holds every
character and every pair of adjacent characters (bigram) of each article. A one- or
two-character query is one token; a longer one is the AND of its bigrams, confirmed by a
substring test on the stored text. This answers queries of every length, where FTS5's `trigram`
tokenizer cannot match one or two characters. The tokens are made in Python (by array
slicing, no object per token), in worker processes for big batches, and FTS5 (`ascii`
tokenizer, `detail=none`) keeps one entry per token and document: the single SQLite writer then
does a fraction of the work a `trigram` table does on every character.

A common word matches most of the archive, and ranking all of it would take far longer than a
search may; `search` ranks the last-indexed `_WINDOW` matches and `_WINDOW` title matches
(rowids follow time, as every batch goes in oldest first): relevance (terms in the title, term
frequency, BM25-style) times a decay with age.

Traditional and Simplified script, ASCII case and full-width forms are folded, character by
character, before indexing and before querying (OpenCC applied to single characters).
The fold keeps every character's offset, so a match found in the folded text is highlighted at
the same place in the original text, which is stored unchanged.

The database is separate from `archive.db` so that indexing never holds the archive's write
lock, and it is derived data: an index of another scheme is emptied on open, and
`SearchIndex.count() == 0` tells the caller to `rebuild()` it from the archive.
"""

from __future__ import annotations

import hashlib
import html
import multiprocessing
import operator
import os
import re
import sqlite3
import sys
import unicodedata
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import tzinfo
from functools import cache
from itertools import chain, islice
from pathlib import Path
from typing import Any, Self

import opencc

from .dates import UTC8, display
from .store import SEARCH_DB as DB_NAME
from .store import immediate
from .workers import die_with_parent

SCHEME = 1  # bump when the schema or the tokens change: older indexes are then emptied on open

# Marks in the private use area, after U+E000-E07F where the fold puts ASCII punctuation
_TITLE = "\ue080"  # prefixes title tokens: the title-match candidates of a query
_FEED = "\ue081"  # prefixes the one feed token of a document
_REPLACEMENT = "\ufffd"

_CHUNK = 1000  # documents per worker task and per write transaction
_POOL_MIN = 2 * _CHUNK  # smaller batches are prepared in-process: spawning workers takes 0.1-0.3 s
_AUTOMERGE = 4  # FTS5's default: segments merged per level as passes add to the index
_WINDOW = 400  # newest matches (and, beyond them, newest title matches) ranked per query
_TITLE_WEIGHT = 2.0  # a term in the title is worth a body term repeated well beyond saturation
_K1, _B = 1.2, 0.75  # BM25 term-frequency saturation and length normalization
_SNIPPET = 64  # characters of text shown around the matches
_SNIPPET_LEAD = 16  # characters of context before the first match shown
# `total` counts matches up to here: counting every match of a common word grows with the archive
# (~20 ms per 10,000 articles), and "more than 10,000" is all a reader needs to know
TOTAL_MAX = 10_000


class SearchError(Exception):
    """The search index cannot be used; the message says why."""


class NothingToSearch(SearchError):
    """The query holds no word: only punctuation, symbols or white space."""


@dataclass(frozen=True, slots=True)
class Doc:
    """An article to index, as the archive holds it."""

    feed_id: str
    number: int
    title: str
    link: str
    published: int  # ms since the epoch
    body_html: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One result. `highlights` are (start, end) offsets of the matches within `snippet`."""

    feed_id: str
    number: int
    title: str
    link: str
    published: int
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    score: float

    def marked(self, start: str = "[", end: str = "]") -> str:
        """The snippet with every match wrapped in `start` ... `end`."""
        out, at = [], 0
        for a, b in self.highlights:
            out += [self.snippet[at:a], start, self.snippet[a:b], end]
            at = b
        out.append(self.snippet[at:])
        return "".join(out)


# --- text --------------------------------------------------------------------------------------

_HIDDEN = re.compile(r"<(script|style|template|noscript)\b.*?</\1\s*>|<!--.*?(?:-->|$)", re.S | re.I)
_BLOCK_TAG = re.compile(
    r"</?(?:address|article|aside|blockquote|br|dd|details|div|dl|dt|figcaption|figure|footer|h[1-6]|header|hr"
    r"|img|li|main|nav|ol|p|pre|section|table|td|th|tr|ul)\b[^>]*>", re.I)
_TAG = re.compile(r"<[!/?]?[A-Za-z][^>]*>")
_SPACES = re.compile(r"[^\S\n]+")
_BREAKS = re.compile(r" ?\n\s*")


def html_text(body: str) -> str:
    """The words of an HTML body, one line per block.

    Block boundaries become line breaks but inline tags vanish without a space: `<b>美国</b>总统`
    must stay `美国总统`, or the bigram 国总 is lost and the query 美国总统 finds nothing.
    """
    text = _TAG.sub("", _BLOCK_TAG.sub("\n", _HIDDEN.sub("", body)))
    return _BREAKS.sub("\n", _SPACES.sub(" ", html.unescape(text))).strip()


# OpenCC's standard conversion, then its Taiwan and Hong Kong ones for the variant forms the
# standard one leaves alone (衞, 枱, 粧...). CJK blocks: URO, Extension A, compatibility, B-H.
_TO_SIMPLIFIED = ("t2s", "tw2s", "hk2s")
_CJK = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x323B0))


@cache
def script_pairs() -> dict[str, str]:
    """Traditional character -> Simplified character: the one table both searches fold with,
    this index and the static site's (`render/site.py` ships it to the browser).

    Single characters: OpenCC converts phrase by phrase, so a word may convert differently in
    an article and alone in a query. One for one, and only where both have the same length in
    UTF-16 (a browser's string offsets): a match found in the folded text is then at the same
    place in the original, on both sides. A variant conversion never folds a form the standard
    one produces (hk2s turns 么, the Simplified 麼, into 幺), and chains are followed to their
    end (薴→苧→苎): folding once folds for good.
    """
    chars = [chr(c) for a, b in _CJK for c in range(a, b)]
    standard, *variants = (opencc.OpenCC(name).convert("\n".join(chars)).split("\n") for name in _TO_SIMPLIFIED)
    produced = {s for c, s in zip(chars, standard, strict=True) if s != c}
    pairs: dict[str, str] = {}
    for converted in (standard, *variants):
        # strict: a pairing shifted by one would fold every character wrongly
        for c, s in zip(chars, converted, strict=True):
            if (s != c and len(s) == 1 and (c > "\uffff") == (s > "\uffff") and c not in pairs
                    and (converted is standard or c not in produced)):
                pairs[c] = s
    return {c: end for c, s in pairs.items() if (end := _last(pairs, s)) != c}


def _last(pairs: dict[str, str], s: str) -> str:
    """Where the chain of folds from `s` ends (a cycle ends where it closes)."""
    seen = {s}
    while (s := pairs.get(s, s)) not in seen:
        seen.add(s)
    return s


@cache
def _fold_table() -> list[int | str]:
    """One character for one character: Traditional to Simplified (`script_pairs`), lower case,
    half-width.

    ASCII punctuation moves to the private use area: FTS5's `ascii` tokenizer splits tokens on
    it, and a `"` typed in a query would end a quoted token. Text already in that area becomes
    U+FFFD, so that it never looks like the title and feed marks.
    """
    changes = {ord(c): s for c, s in script_pairs().items()}
    for c in range(0x10000):
        lower = chr(c).lower()
        if lower != chr(c) and len(lower) == 1:
            changes[c] = lower
    changes.update((c, chr(c - 0xFEE0).lower()) for c in range(0xFF01, 0xFF5F))  # full-width ASCII
    changes.update((c, _REPLACEMENT) for c in range(0xE000, 0xF900))
    punctuation = {c: chr(0xE000 + c) for c in range(0x80) if not chr(c).isalnum() and not chr(c).isspace()}
    changes = {c: punctuation.get(ord(s), s) for c, s in changes.items()} | punctuation
    # A list, not a dict: str.translate raises and swallows a KeyError for every character a
    # dict lacks, which made folding twice as slow. Past its end, characters stay as they are.
    table: list[int | str] = list(range(max(changes) + 1))
    for c, s in changes.items():
        table[c] = s
    return table


def fold(text: str) -> str:
    """The searchable form of `text`: same length, same offsets."""
    return text.translate(_fold_table())


@cache
def _scheme() -> str:
    """Changes whenever the index of a given text would: the schema or the fold (OpenCC)."""
    changes = [(c, s) for c, s in enumerate(_fold_table()) if s != c]
    fold_hash = hashlib.sha256(repr(changes).encode()).hexdigest()[:16]
    return f"{SCHEME}:{fold_hash}"


_SHOWN_QUERY = 80  # characters of a query repeated in the message saying it holds no word
# Folded ASCII punctuation (see `_fold_table`) not between two ASCII letters or digits
_LOOSE_PUNCTUATION = re.compile(r"(?<![0-9a-z])[\ue000-\ue07f]+|[\ue000-\ue07f]+(?![0-9a-z])")


def _is_word(c: str) -> bool:
    """Letters, marks and digits, and the folded ASCII punctuation `query_terms` sorts out."""
    return "\ue000" <= c <= "\ue07f" or unicodedata.category(c)[0] in "LMN"


def query_terms(query: str) -> list[str]:
    """The folded words of a query, each once, in order; NothingToSearch when it has none.

    Punctuation and symbols separate words as white space does: `习近平：` asks for 习近平, and a
    query of `:` alone, which every article holding a colon matched, asks for nothing. Between
    two ASCII letters or digits punctuation stays part of the word (`U.S.`, `3.5`, `covid-19`),
    else `U.S.` would ask for every article holding a u and an s.
    """
    words = "".join(c if _is_word(c) else " " for c in fold(query))
    terms = list(dict.fromkeys(_LOOSE_PUNCTUATION.sub(" ", words).split()))
    if not terms:
        shown = query if len(query) <= _SHOWN_QUERY else query[:_SHOWN_QUERY] + "…"
        raise NothingToSearch(f"nothing to search for in {shown!r}")
    return terms


def _grams(folded: str) -> set[str]:
    """Every character, and every character with the next one within runs without white space:
    queries never contain white space, so a pair across it would never be asked for."""
    grams: set[str] = set()
    for run in folded.split():
        grams.update(run)
        grams.update(map(operator.add, run, run[1:]))
    return grams


_UTF32 = f"utf-32-{sys.byteorder[0]}e"  # the code points of an array("I"), 4 bytes each


def _pairs(folded: str) -> str:
    """Every pair of adjacent characters, space-separated, built by array slicing in C: making
    and deduplicating a string object per pair was most of the cost of indexing.

    FTS5 stores a token once per document however often it repeats, and its tokenizer splits a
    pair across white space into its characters, which are indexed anyway: the index holds
    exactly the pairs `_grams` finds.
    """
    codes = array("I", folded.encode(_UTF32))
    out = array("I", " ".encode(_UTF32)) * (3 * len(codes))
    out[0::3] = codes
    out[1:-3:3] = codes[1:]
    return out.tobytes().decode(_UTF32)


def _tokens(feed_id: str, ftitle: str, ftext: str) -> str:
    """What the FTS5 table indexes for one document: every character and bigram of the title and
    text, the title's marked as such, and the feed."""
    title = _grams(ftitle)
    marks = " ".join(chain(title, (_TITLE + g for g in title), (_FEED + fold(feed_id),)))
    return " ".join((marks, " ".join(ftext), _pairs(ftext)))


# --- preparing documents (in worker processes for big batches) ----------------------------------

_Row = tuple[str, int, str, str, int, str, str, str, str]  # Doc's fields, text, folded title & text, tokens


def _row(feed_id: str, number: int, title: str, link: str, published: int, text: str) -> _Row:
    ftitle, ftext = fold(title), fold(text)
    return (feed_id, number, title, link, published, text, ftitle, ftext, _tokens(feed_id, ftitle, ftext))


def _prepare(docs: list[Doc]) -> list[_Row]:
    """Rows for a chunk of documents, oldest first: rowids then follow time, which the
    newest-first candidate scan of `search` relies on."""
    docs = sorted(docs, key=lambda d: d.published)
    return [_row(d.feed_id, d.number, " ".join(d.title.split()), d.link, d.published, html_text(d.body_html))
            for d in docs]


def _chunks(docs: Iterable[Doc]) -> Iterator[list[Doc]]:
    it = iter(docs)
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork. Not spawn or forkserver: their workers re-run the caller's main module, which
    fails for `python -` and must be guarded in a CLI. Forking is safe here: indexing runs
    after the pass, when the only other threads are idle file writers waiting on a queue."""
    return multiprocessing.get_context("fork")


def _prepared(docs: Iterable[Doc]) -> Iterator[list[_Row]]:
    """Prepared chunks in order; on every core when the batch is big enough to pay for a pool.

    Stripping, folding and splitting into tokens is most of the work of indexing; SQLite
    takes one writer, so the caller writes in this process while the workers prepare ahead.
    """
    it = iter(docs)
    head = list(islice(it, _POOL_MIN))
    cores = os.cpu_count() or 1
    if len(head) < _POOL_MIN or cores < 2:
        yield from map(_prepare, _chunks(chain(head, it)))
        return
    # Its workers end with this process, whatever kills it (a leftover worker once held the archive).
    with ProcessPoolExecutor(cores, mp_context=_pool_context(), initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        ahead: deque[Future[list[_Row]]] = deque()
        for chunk in _chunks(chain(head, it)):
            ahead.append(pool.submit(_prepare, chunk))
            if len(ahead) > cores:  # enough to keep every worker busy; more only costs memory
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


# --- the index ----------------------------------------------------------------------------------

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs (
    id        INTEGER PRIMARY KEY,   -- rowid in `grams`; grows with time (batches go oldest first)
    feed_id   TEXT NOT NULL,
    number    INTEGER NOT NULL,
    title     TEXT NOT NULL,
    link      TEXT NOT NULL,
    published INTEGER NOT NULL,      -- ms
    text      TEXT NOT NULL,         -- the body as plain text, as published: snippets
    ftitle    TEXT NOT NULL,         -- fold(title), fold(text): confirming matches and counting
    ftext     TEXT NOT NULL,         -- them, at the same offsets as title and text
    UNIQUE (feed_id, number)
);
CREATE INDEX docs_published ON docs (published);
-- contentless, detail=none: only which documents hold a token, the cheapest index to write;
-- positions are not needed since matches are confirmed on ftext.
CREATE VIRTUAL TABLE grams USING fts5(tokens, tokenize='ascii', detail=none, content='', columnsize=0);
-- one segment per write transaction, not one per ~100 documents (the default is 1 MB)
INSERT INTO grams (grams, rank) VALUES ('hashsize', {64 << 20})
"""
_CANDIDATES = """
SELECT d.id, d.feed_id, d.published, d.ftitle, d.ftext FROM grams JOIN docs d ON d.id = grams.rowid
WHERE grams MATCH ? AND grams.rowid BETWEEN ? AND ? ORDER BY grams.rowid DESC
"""
_COUNT = "SELECT count(*) FROM (SELECT 1 FROM grams WHERE grams MATCH ? AND grams.rowid BETWEEN ? AND ? LIMIT ?)"
_COUNT_DATED = ("SELECT count(*) FROM (SELECT 1 FROM grams JOIN docs d ON d.id = grams.rowid"
                " WHERE grams MATCH ? AND grams.rowid BETWEEN ? AND ? AND d.published BETWEEN ? AND ? LIMIT ?)")
_ROWID_MAX = (1 << 63) - 1


def _bounds(since: int | None, until: int | None) -> tuple[int, int]:
    """Inclusive dates (ms) for SQL, open ends made the widest."""
    return -_ROWID_MAX if since is None else since, _ROWID_MAX if until is None else until


@dataclass(slots=True)
class _Candidate:
    id: int
    published: int
    ftitle: str
    ftext: str


_Found = tuple[int, str, int, str, str]  # a candidate row: id, feed_id, published, ftitle, ftext


class Searcher:
    """What the two back ends share: which tokens a query needs, confirming, ranking, snippets.

    A back end (`SearchIndex`: SQLite's FTS5; search_postgres.PostgresSearch: a GIN index) only
    stores documents and finds, newest first, those holding a set of tokens (`_rows`) or counts
    them (`_count`): every decision about what matches and how it ranks is made here, once, so
    the two answer every query alike. `open_search` picks one from the configuration.
    Not shared between threads.
    """

    db: Any  # sqlite3.Connection, or store.postgres.Connection: both take SQLite's `?` placeholders
    docs = "docs"  # the table of documents: id, feed_id, number, title, link, published, text, ftitle, ftext
    where: object  # the database, as errors name it
    errors: tuple[type[Exception], ...] = (sqlite3.OperationalError,)  # the driver's, made SearchError

    def __init__(self, half_life_days: float):
        """`half_life_days`: an article that much older needs twice the relevance to rank level."""
        if half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        self.half_life = half_life_days * 86_400_000

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, exc: Exception) -> SearchError:
        return SearchError(f"{self.where}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}")

    # --- what a back end does ----------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _write(self, rows: list[_Row]) -> None:
        """Store prepared documents, replacing earlier versions of the same (feed_id, number)."""
        raise NotImplementedError

    def _unindex(self, feed_id: str, number: int) -> int | None:
        """Drop a document; its id, or None when it was not indexed."""
        raise NotImplementedError

    def rebuild(self, docs: Iterable[Doc]) -> int:
        """Replace the whole index by `docs`, given oldest first (ids then follow time), in one
        transaction: searches see the old index until it commits. `docs` is streamed: an archive
        of any size is indexed in bounded memory."""
        raise NotImplementedError

    def _rows(self, need: list[str], any_of: list[list[str]], lo: int, hi: int) -> Iterable[_Found]:
        """Documents with ids in [lo, hi] holding every token of `need` and, when `any_of` is
        given, every token of one of its groups: newest (highest id) first."""
        raise NotImplementedError

    def _count(self, need: list[str], lo: int, hi: int, since: int | None, until: int | None) -> int:
        """How many documents `_rows` finds for `need` (no `any_of`) published in [since, until],
        counted up to TOTAL_MAX + 1 at most."""
        raise NotImplementedError

    # --- writing -------------------------------------------------------------------------------

    def add(self, docs: Iterable[Doc]) -> int:
        """Index `docs`, replacing any earlier version of the same (feed_id, number); returns
        how many were written. One transaction per chunk keeps the write lock short."""
        written = 0
        for rows in _prepared(docs):
            with self._transaction():
                self._write(rows)
            written += len(rows)
        return written

    def remove(self, feed_id: str, number: int) -> bool:
        """Forget one article; False when it was not indexed."""
        with self._transaction():
            return self._unindex(feed_id, number) is not None

    def count(self) -> int:
        count: int = self.db.execute(f"SELECT count(*) FROM {self.docs}").fetchone()[0]
        return count

    def empty(self) -> bool:
        """Whether no article is indexed (new, or emptied for another scheme): one row read, not a count."""
        return self.db.execute(f"SELECT 1 FROM {self.docs} LIMIT 1").fetchone() is None

    # --- searching -----------------------------------------------------------------------------

    def search(self, query: str, feed: str | None = None, since: int | None = None, until: int | None = None,
               limit: int = 20) -> list[Hit]:
        """Articles holding every word of `query` (`query_terms`), best first: relevance times
        2^(-age / half-life), age counted from the newest match; equal scores newest first.
        `since` and `until` (ms) are inclusive. Query text is never the engine's syntax; a query
        without a word is NothingToSearch."""
        terms = query_terms(query)
        lo, hi = self._id_range(since, until)
        need = _required(terms, feed)
        if limit <= 0 or lo > hi or need is None:
            return []
        window = max(_WINDOW, limit)
        # the tokens are exact for one and two characters; longer terms are only known to hold their bigrams
        unsure = [t for t in terms if len(t) > 2]

        def wanted(c: _Candidate, feed_id: str) -> bool:
            return ((feed is None or feed_id == feed) and (since is None or c.published >= since)
                    and (until is None or c.published <= until) and all(t in c.ftitle or t in c.ftext for t in unsure))

        found = self._candidates(self._rows(need, [], lo, hi), window, wanted)
        if len(found) == window:  # more matches than ranked: make sure title matches get a chance
            titled = [_term_tokens(t, _TITLE) for t in terms]
            found |= self._candidates(self._rows(need, titled, lo, hi), window,
                                      lambda c, f: wanted(c, f) and any(t in c.ftitle for t in terms))
        return self._hits(self._ranked(found.values(), terms)[:limit], terms)

    def total(self, query: str, feed: str | None = None, since: int | None = None, until: int | None = None) -> int:
        """How many articles `search` could return for these arguments, counted from the
        index's tokens, without reading any article, and only up to `TOTAL_MAX + 1` (more than
        `TOTAL_MAX`): the cost of a count over a common word stays that of a search however large
        the archive. Exact for words of one or two characters; a longer word is counted by its
        bigrams, so an article holding them apart counts too."""
        terms = query_terms(query)
        lo, hi = self._id_range(since, until)
        need = _required(terms, feed)
        if lo > hi or need is None:
            return 0
        try:
            return self._count(need, lo, hi, since, until)
        except self.errors as exc:
            raise self._fail(exc) from exc

    def _id_range(self, since: int | None, until: int | None) -> tuple[int, int]:
        """Ids that may hold articles published in [since, until], for the index to skip the rest."""
        if since is None and until is None:
            return 0, _ROWID_MAX
        row = self.db.execute(f"SELECT min(id), max(id) FROM {self.docs} WHERE published BETWEEN ? AND ?",
                              _bounds(since, until))
        lo, hi = row.fetchone()
        return (1, 0) if lo is None else (lo, hi)

    def _candidates(self, rows: Iterable[_Found], window: int,
                    wanted: Callable[[_Candidate, str], bool]) -> dict[int, _Candidate]:
        """The newest `window` documents that the index proposes and `wanted` confirms."""
        found: dict[int, _Candidate] = {}
        try:
            for doc_id, feed_id, published, ftitle, ftext in rows:
                candidate = _Candidate(doc_id, published, ftitle, ftext)
                if wanted(candidate, feed_id):
                    found[doc_id] = candidate
                    if len(found) == window:
                        break
        except self.errors as exc:
            raise self._fail(exc) from exc
        return found

    def _ranked(self, candidates: Iterable[_Candidate], terms: list[str]) -> list[tuple[float, _Candidate]]:
        """Best first. Lengths are normalized by the candidates' average, which needs no
        statistics kept over the whole index."""
        candidates = list(candidates)
        if not candidates:
            return []
        average = sum(len(c.ftext) for c in candidates) / len(candidates) or 1.0
        newest = max(c.published for c in candidates)
        scored = []
        for c in candidates:
            norm = _K1 * (1 - _B + _B * len(c.ftext) / average)
            relevance = 0.0
            for t in terms:
                tf = c.ftext.count(t)
                relevance += _TITLE_WEIGHT * (t in c.ftitle) + tf / (tf + norm)
            scored.append((relevance * 0.5 ** ((newest - c.published) / self.half_life), c))
        scored.sort(key=lambda s: (s[0], s[1].published, s[1].id), reverse=True)
        return scored

    def _hits(self, ranked: list[tuple[float, _Candidate]], terms: list[str]) -> list[Hit]:
        """The results, with the original text read only for them."""
        if not ranked:
            return []
        ids = [c.id for _, c in ranked]
        rows = {r[0]: r[1:] for r in self.db.execute(
            f"SELECT id, feed_id, number, title, link, text FROM {self.docs} WHERE id IN ({','.join('?' * len(ids))})", ids)}
        hits = []
        for score, c in ranked:
            feed_id, number, title, link, text = rows[c.id]
            snippet, highlights = _snippet(text, c.ftext, terms)
            hits.append(Hit(feed_id, number, title, link, c.published, snippet, highlights, round(score, 6)))
        return hits


class SearchIndex(Searcher):
    """The search database of one archive, SQLite's FTS5 in `DIR/.newsmirror/search.db`."""

    def __init__(self, state_dir: Path, *, half_life_days: float = 90.0):
        super().__init__(half_life_days)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.where = state_dir / DB_NAME
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = OFF")  # derived data, rebuilt when lost; no fsync to stall the pass
            # a rebuild writes the whole index through the WAL: give the disk back after it
            self.db.execute(f"PRAGMA journal_size_limit = {64 << 20}")
            with self._transaction():
                self._open_schema()
        except sqlite3.DatabaseError as exc:
            raise SearchError(f"cannot open {self.path}: {exc} (delete it and rebuild the index)") from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with immediate(self.db, lambda exc: SearchError(f"{self.path}: {exc}")):
            yield

    def _open_schema(self) -> None:
        """Create the tables, or recreate them empty when they were made for another scheme."""
        if self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            if self.db.execute("SELECT value FROM meta WHERE key = 'scheme'").fetchone() == (_scheme(),):
                return
        for name in ("grams", "docs", "meta"):
            self.db.execute(f"DROP TABLE IF EXISTS {name}")
        for statement in _SCHEMA.split(";\n"):
            self.db.execute(statement)
        self.db.execute("INSERT INTO meta VALUES ('scheme', ?)", (_scheme(),))

    def rebuild(self, docs: Iterable[Doc]) -> int:
        with self._transaction():
            self.db.execute("DELETE FROM docs")
            self.db.execute("INSERT INTO grams (grams) VALUES ('delete-all')")
            # no merging while the segments are written: `optimize` merges them all once at the end
            self.db.execute("INSERT INTO grams (grams, rank) VALUES ('automerge', 0)")
            written = 0
            for rows in _prepared(docs):
                self._write(rows, fresh=True)
                written += len(rows)
            self.db.execute(f"INSERT INTO grams (grams, rank) VALUES ('automerge', {_AUTOMERGE})")
        self.db.execute("INSERT INTO grams (grams) VALUES ('optimize')")  # one segment: fastest reads
        return written

    def _write(self, rows: list[_Row], fresh: bool = False) -> None:
        """`fresh`: the index was emptied, no earlier version of a row to drop."""
        for row in rows:
            old = None if fresh else self._unindex(row[0], row[1])
            cursor = self.db.execute(
                "INSERT INTO docs (id, feed_id, number, title, link, published, text, ftitle, ftext)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (old, *row[:8]))
            self.db.execute("INSERT INTO grams (rowid, tokens) VALUES (?, ?)", (cursor.lastrowid, row[8]))

    def _unindex(self, feed_id: str, number: int) -> int | None:
        old = self.db.execute("SELECT id, ftitle, ftext FROM docs WHERE feed_id = ? AND number = ?",
                              (feed_id, number)).fetchone()
        if old is None:
            return None
        # a contentless FTS5 table forgets a row only when told the exact tokens it indexed
        self.db.execute("INSERT INTO grams (grams, rowid, tokens) VALUES ('delete', ?, ?)",
                        (old[0], _tokens(feed_id, old[1], old[2])))
        self.db.execute("DELETE FROM docs WHERE id = ?", (old[0],))
        old_id: int = old[0]
        return old_id

    def _rows(self, need: list[str], any_of: list[list[str]], lo: int, hi: int) -> Iterable[_Found]:
        return self.db.execute(_CANDIDATES, (_fts5(need, any_of), lo, hi))

    def _count(self, need: list[str], lo: int, hi: int, since: int | None, until: int | None) -> int:
        params: tuple[object, ...]
        if since is None and until is None:
            sql, params = _COUNT, (_fts5(need, []), lo, hi, TOTAL_MAX + 1)
        else:  # rowids follow time only batch by batch: the dates themselves decide
            sql, params = _COUNT_DATED, (_fts5(need, []), lo, hi, *_bounds(since, until), TOTAL_MAX + 1)
        total: int = self.db.execute(sql, params).fetchone()[0]
        return total


def open_search(state_dir: Path, url: str | None = None, *, half_life_days: float = 90.0) -> Searcher:
    """The search index the configuration names ([store] url), as `store.open_store` picks the
    state: SQLite's beside the archive by default, else the tables in the PostgreSQL database."""
    if url is None:
        return SearchIndex(state_dir, half_life_days=half_life_days)
    from .search_postgres import PostgresSearch  # psycopg: only with [store] url

    return PostgresSearch(url, half_life_days=half_life_days)


def _required(terms: list[str], feed: str | None) -> list[str] | None:
    """The tokens every document holding all `terms` (of the feed, when given) holds, each once;
    None when no document can match."""
    need = [g for t in terms for g in _term_tokens(t)]
    if feed is not None:
        feed_token = fold(feed)
        if feed_token.split() != [feed_token]:
            return None  # no feed id is empty or holds white space
        need.append(_FEED + feed_token)
    return list(dict.fromkeys(need))


def _term_tokens(term: str, prefix: str = "") -> list[str]:
    """The tokens of a folded term: the character, or all the term's bigrams."""
    if len(term) == 1:
        return [prefix + term]
    return list(dict.fromkeys(prefix + a + b for a, b in zip(term, term[1:], strict=False)))


def _fts5(need: list[str], any_of: list[list[str]]) -> str:
    """The FTS5 expression for documents holding every token of `need` and all of one group of
    `any_of` (when given). Every token is quoted; quotes cannot occur inside since the fold
    moved ASCII punctuation out of the way, so no query text can reach FTS5's syntax."""
    def every(tokens: list[str]) -> str:
        return "(" + " AND ".join(f'"{t}"' for t in tokens) + ")"

    return every(need) + (" AND (" + " OR ".join(map(every, any_of)) + ")" if any_of else "")


def _snippet(text: str, ftext: str, terms: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of the original text where most distinct terms meet (matches are found in the
    folded text, at the same offsets), with the matches' offsets inside it."""
    spans = sorted((i, i + len(t), k) for k, t in enumerate(terms) for i in _find_all(ftext, t))
    width = max(_SNIPPET, *map(len, terms))
    counts, distinct, ahead, best, start = [0] * len(terms), 0, 0, 0, 0
    for a, _, k in spans:  # sliding window: the spans that fit in [a, a + width]
        while ahead < len(spans) and spans[ahead][1] <= a + width:
            counts[spans[ahead][2]] += 1
            distinct += counts[spans[ahead][2]] == 1
            ahead += 1
        if distinct > best:
            best, start = distinct, max(0, a - _SNIPPET_LEAD)
        counts[k] -= 1
        distinct -= counts[k] == 0
    start = max(0, min(start, len(text) - width))
    end = min(len(text), start + width)
    lead = "…" if start else ""
    snippet = lead + text[start:end].replace("\n", " ") + ("…" if end < len(text) else "")
    merged: list[list[int]] = []
    for a, b, _ in spans:
        a, b = max(a, start) - start + len(lead), min(b, end) - start + len(lead)
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return snippet, tuple((a, b) for a, b in merged)


def _find_all(haystack: str, needle: str, most: int = 64) -> Iterator[int]:
    """Where `needle` occurs, at most `most` times: enough to place a snippet."""
    at = haystack.find(needle)
    while at >= 0 and most:
        yield at
        most -= 1
        at = haystack.find(needle, at + len(needle))


def format_hit(hit: Hit, *, tz: tzinfo = UTC8, color: bool = False) -> str:
    """Three lines for a terminal: where and when, title; the snippet; the link."""
    when = display(hit.published, tz)
    start, end = ("\x1b[1;33m", "\x1b[0m") if color else ("[", "]")
    return f"{hit.feed_id}/{hit.number}  {when}  {hit.title}\n    {hit.marked(start, end)}\n    {hit.link}"
