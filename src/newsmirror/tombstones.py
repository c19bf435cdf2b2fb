"""Tombstones: what a redaction (`newsmirror redact`) leaves behind, so that the article is never
archived again.

A git host disables a whole repository when a file named in a takedown notice comes back, so the
record of a redaction must outlive the state (a cold CI cache, `reindex`) and travel with every
copy: it is `redactions.json` at the archive root, committed, one object per redaction — ids and
hashes, never content. `Tombstones.match` is the pure decision a pass applies to every new entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from . import archive as files
from .identity import body_key, normalized_text

T = TypeVar("T")
NAME = "redactions.json"
MAX_BYTES = 16 * 1024 * 1024  # the file is ids and hashes: far below this for any real mirror


class TombstoneError(ValueError):
    """redactions.json cannot be read; nothing is archived or published against a record half-read."""


@dataclass(frozen=True, slots=True)
class Tombstone:
    feed: str
    number: int
    guid: str | None
    link: str
    canonical: str | None  # of the link, as entries are matched
    body_sha256: tuple[str, ...]  # text_hash of every version's body
    published: int  # ms: where its list line stands
    date: str  # ISO date and time of the redaction
    reason: str
    blobs: tuple[str, ...] = field(default=())  # git blob ids the article's files had: a remote holding one holds it


def text_hash(body: str | None) -> str | None:
    """sha256 of a full body's text (`identity.normalized_text`), None for a short or empty one:
    a teaser or an empty body is shared by unrelated items (decide.py, rule 3), so it never matches."""
    text = normalized_text(body)
    if body_key(text) is None:
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Tombstones:
    """The redactions of a mirror, indexed by each key a new entry could share with one."""

    def __init__(self, stones: Iterable[Tombstone] = ()):
        self.all = sorted(stones, key=lambda t: (t.feed, -t.number))
        self._guid = {t.guid: t for t in self.all if t.guid}
        self._link = {t.canonical: t for t in self.all if t.canonical}
        self._body = {h: t for t in self.all for h in t.body_sha256}
        self.numbers = {(t.feed, t.number) for t in self.all}
        self.blobs = {b for t in self.all for b in t.blobs}

    def __bool__(self) -> bool:
        return bool(self.all)

    def match(self, guid: str | None, canonical: str | None, body: str | None) -> Tombstone | None:
        """The redaction an entry is: the same guid, the same link (a feed that moved it keeps the
        guid), or a full body with the same text (a new guid, a new link); `body` is its text hash."""
        return ((guid and self._guid.get(guid)) or (canonical and self._link.get(canonical))
                or (body and self._body.get(body)) or None)

    def of_feed(self, feed_id: str) -> list[Tombstone]:
        """The feed's redactions, newest (lowest number) first."""
        return [t for t in self.all if t.feed == feed_id][::-1]

    def min_number(self, feed_id: str) -> int | None:
        """The lowest number a redaction of the feed held: never given to another article."""
        return min((t.number for t in self.all if t.feed == feed_id), default=None)


def interleave(rows: list[T], stones: list[Tombstone], key: Callable[[T], tuple[str, int]],
               make: Callable[[Tombstone], T]) -> list[T]:
    """A feed's list lines (newest first; `key` gives each one's feed and number) with a line
    `make`s for each of its redactions (`stones`, newest first), placed by number among the
    feed's own lines (lines of articles shared from other feeds stay where they are)."""
    out: list[T] = []
    i = 0
    for row in rows:
        feed, number = key(row)
        while i < len(stones) and feed == stones[i].feed and stones[i].number < number:
            out.append(make(stones[i]))
            i += 1
        out.append(row)
    return out + [make(t) for t in stones[i:]]


def read(root: Path) -> Tombstones:
    """The mirror's redactions (none when it has no redactions.json)."""
    path = root / NAME
    try:
        if path.stat().st_size > MAX_BYTES:
            raise TombstoneError(f"{path}: larger than {MAX_BYTES} bytes")
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Tombstones(Tombstone(**{**o, "body_sha256": tuple(o["body_sha256"]), "blobs": tuple(o.get("blobs", ()))})
                          for o in raw)
    except FileNotFoundError:
        return Tombstones()
    except (ValueError, TypeError, KeyError) as exc:
        raise TombstoneError(f"{path}: not a list of redactions ({exc}); restore it from git") from None


def write(root: Path, stones: Tombstones) -> None:
    """redactions.json, sorted by feed and number, one object per line: stable diffs."""
    lines = [json.dumps(asdict(t), ensure_ascii=False, sort_keys=True) for t in stones.all]
    files.write(root / NAME, "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n")
