"""What a pass decides about a feed's entries: pure functions over plain data.

No I/O and no SQLite: the store hands over the archived (and waiting) entries that the keys of a
document's entries could name, and `decide` says what each entry is. The identity rule is this
one, applied the same way within one document and across passes:

1. The same guid is the same entry.
2. An entry without a guid is identified by its link (canonical form): it is the archived entry
   with that link. An entry with a guid is never taken for another by its link alone.
3. Beyond that, two entries with different guids, whether or not their links are equal, are the
   same story only when both carry the same full body: identical text after white space is
   normalised, at least 300 characters without markup or white space (`identity.body_key`).
   An empty, missing or short body, or an equal title, never makes them one: a feed whose items
   all link to its home page keeps every item.
4. Title and text identify only entries that have neither a guid nor a link.
5. An article read back from a file without newsmirror's identity index (a repository of the
   original mirror) has an unknown guid (`adopted`). When it is the only file of its feed with its
   link it is the entry with that link (BY_LINK); files that share a link are told apart by title
   and date (BY_TITLE). The entry it turns out to be gives it its guid (`adopted_keys`).

Within one document the entries are taken oldest first, each against the archive and the entries
taken before it, so that how a feed's entries are split into passes never changes which articles
are archived. Across feeds (`dedupe = "mirror"`), the same canonical link or a full-body twin in
another feed is one article, kept under the feed that brought it first (`elsewhere`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from . import urls
from .identity import body_key, entry_hash
from .model import ParsedEntry
from .store import EntryRow, WaitingRow

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Keys:
    """What identifies an entry, and what the feed said of it."""

    guid: str | None
    canonical: str | None  # of its link
    body: str | None  # identity.body_key of its text: set for a full body only
    said: str  # identity.entry_hash of title and text: an edit shows here first
    title: str = ""
    published: int | None = None


def keys(entry: ParsedEntry, text: str) -> Keys:
    """The keys of an entry a feed gives; `text` is `normalized_text` of its body."""
    return Keys(entry.guid or None, urls.canonical(entry.link) if entry.link else None, body_key(text),
                entry_hash(entry.title, text), entry.title, entry.published)


def row_keys(row: EntryRow) -> Keys:
    return Keys(row.guid, row.canonical, row.body_key, row.feed_hash or "", row.title, row.published)


def waiting_keys(row: WaitingRow) -> Keys:
    return Keys(row.guid, row.canonical, row.body_key, row.feed_hash or "")


@dataclass(slots=True)
class _Known(Generic[T]):
    keys: Keys
    item: T
    adopted: int


GUID_KNOWN, BY_LINK, BY_TITLE = 0, 1, 2  # EntryRow.adopted: what identifies an article whose guid is unknown


@dataclass(slots=True)
class Catalog(Generic[T]):
    """Known entries indexed by each of their keys; `match` applies the identity rule. Each
    look-up is a dictionary's, so that a document of many entries sharing one link stays linear."""

    _guid: dict[str, _Known[T]] = field(default_factory=dict)
    _link: dict[str, _Known[T]] = field(default_factory=dict)  # the first known with the link
    _adopted_link: dict[str, _Known[T]] = field(default_factory=dict)  # BY_LINK, by link
    _adopted_title: dict[tuple[str | None, str], list[_Known[T]]] = field(default_factory=dict)  # BY_TITLE
    _body: dict[str, _Known[T]] = field(default_factory=dict)
    _said: dict[str, _Known[T]] = field(default_factory=dict)  # entries with neither guid nor link

    def add(self, k: Keys, item: T, adopted: int = GUID_KNOWN) -> None:
        known = _Known(k, item, adopted)
        if adopted == BY_TITLE:
            self._adopted_title.setdefault((k.canonical, _title(k.title)), []).append(known)
        if k.guid:
            self._guid.setdefault(k.guid, known)
        if k.canonical:
            self._link.setdefault(k.canonical, known)
            if adopted == BY_LINK:
                self._adopted_link.setdefault(k.canonical, known)
        if k.body:
            self._body.setdefault(k.body, known)
        if not k.guid and not k.canonical and not adopted:
            self._said.setdefault(k.said, known)

    def match(self, k: Keys) -> tuple[T, bool] | None:
        """(the known entry `k` is, whether that one takes `k`'s guid), or None: a new entry."""
        if k.guid and (hit := self._guid.get(k.guid)):
            return hit.item, False  # rule 1
        if k.canonical and not k.guid and (hit := self._link.get(k.canonical)):
            return hit.item, False  # rule 2
        if k.canonical and (hit := self._adopted_link.get(k.canonical)) and hit.adopted:
            return self._take(hit, k)  # rule 5, by link
        for known in self._adopted_title.get((k.canonical, _title(k.title)), ()):
            if known.adopted and k.published in (None, known.keys.published):
                return self._take(known, k)  # rule 5, by title and date
        if k.body and (hit := self._body.get(k.body)):
            return hit.item, False  # rule 3
        if not k.guid and not k.canonical and (hit := self._said.get(k.said)):
            return hit.item, False  # rule 4
        return None

    def _take(self, known: _Known[T], k: Keys) -> tuple[T, bool]:
        """An adopted entry takes the guid of the entry it turned out to be (and its body key)."""
        if not k.guid:
            return known.item, False
        known.adopted = GUID_KNOWN
        known.keys = Keys(k.guid, known.keys.canonical, known.keys.body or k.body, known.keys.said,
                          known.keys.title, known.keys.published)
        self._guid.setdefault(k.guid, known)
        if k.body:
            self._body.setdefault(k.body, known)
        return known.item, True


def _title(title: str) -> str:
    return " ".join(title.split())


class Verdict(Enum):
    NEW = "new"  # archive it
    SAME = "same"  # archived; the feed says what it said
    CHANGED = "changed"  # archived; the feed tells it differently: perhaps an edit
    SEEN = "seen"  # read back from its file, built from its page: remember what the feed says now
    SHARED = "shared"  # another feed's article, which this feed lists (dedupe = "mirror")
    WAITING = "waiting"  # taken by an earlier pass, waiting for its turn
    REPEAT = "repeat"  # an entry this document gave already (noise)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    row: EntryRow | None = None  # the archived entry it is (SAME, CHANGED, SEEN, SHARED)
    waiting: int | None = None  # the id of the waiting entry it is (WAITING)
    learned: bool = False  # `row` was adopted and takes this entry's guid (and its body key)


def decide(sightings: Sequence[Keys], rows: Iterable[EntryRow], waiting: Iterable[WaitingRow] = (),
           shared: Iterable[EntryRow] = ()) -> list[Decision]:
    """What each entry of a document is; `sightings` oldest first, `rows` the feed's archived
    entries its keys could name (the store's `known`), `waiting` its waiting ones, `shared`
    other feeds' articles the feed lists."""
    catalog: Catalog[EntryRow | WaitingRow | int] = Catalog()
    for row in rows:
        catalog.add(row_keys(row), row, row.adopted)
    for w in waiting:
        catalog.add(waiting_keys(w), w)
    shared = list(shared)
    out = []
    for i, k in enumerate(sightings):
        hit = catalog.match(k)
        if hit is None:
            other = elsewhere(k, shared)
            if other is not None:
                out.append(Decision(Verdict.SHARED, other))
            else:
                catalog.add(k, i)
                out.append(Decision(Verdict.NEW))
            continue
        item, learned = hit
        if isinstance(item, int):
            out.append(Decision(Verdict.REPEAT))
        elif isinstance(item, WaitingRow):
            out.append(Decision(Verdict.WAITING, waiting=item.id))
        else:
            out.append(Decision(_verdict(item, k), item, learned=learned))
    return out


def _verdict(row: EntryRow, k: Keys) -> Verdict:
    if row.feed_hash is None and row.from_page:
        # Read back by reindex (every run of a stateless CI runner): refetching every page to
        # compare would cost a page per entry per run; what the feed says now is remembered.
        return Verdict.SEEN
    if row.feed_hash != k.said:
        # An edit, or (feed hash unknown, after reindex) a body to compare with its file.
        return Verdict.CHANGED
    return Verdict.SAME


def elsewhere(k: Keys, rows: Iterable[EntryRow]) -> EntryRow | None:
    """The article among other feeds' `rows` that `k` is (the same canonical link, or a
    full-body twin): the one stored first."""
    found = [r for r in rows if (k.canonical and r.canonical == k.canonical) or (k.body and r.body_key == k.body)]
    return min(found, key=lambda r: r.id, default=None)


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What a file of the archive tells of its article's identity."""

    number: int
    canonical: str | None
    guid: str | None = None  # from the identity index
    body: str | None = None
    said: str | None = None
    indexed: bool = False  # the identity index holds it


def adopted_keys(files: Sequence[FileIdentity]) -> dict[int, tuple[str | None, str | None, str | None, int]]:
    """number -> (guid, body key, feed hash, adopted) for a feed's files read back by reindex.

    Files the identity index holds are what the state was. Others (a repository without the
    index) have an unknown guid: a file whose link no other such file of the feed has is
    identified by its link (BY_LINK); files that share a link, or have none, by title and date.
    """
    count: dict[str | None, int] = {}
    for f in files:
        if not f.indexed:
            count[f.canonical] = count.get(f.canonical, 0) + 1
    out = {}
    for f in files:
        if f.indexed:
            out[f.number] = (f.guid, f.body, f.said, GUID_KNOWN)
        else:
            out[f.number] = (None, None, None, BY_LINK if f.canonical and count[f.canonical] == 1 else BY_TITLE)
    return out
