"""The archive's state: SQLite in WAL mode under `DIR/.newsmirror/`.

The files under `articles/` are the durable record; this database is what makes passes fast
and safe (identity of entries, numbering, fetch state, files still to write) and can be rebuilt
from the files by `newsmirror reindex`. SQLite errors become StoreError here, in one place.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import Article
from .migrations import MIGRATIONS

if TYPE_CHECKING:
    from ..decide import Keys

DB_NAME = "archive.db"
SEARCH_DB = "search.db"  # the search index (search.py), beside the archive: derived data
REBUILDING = "rebuilding"  # beside them while the entries are being read back from the files


@contextmanager
def immediate(db: sqlite3.Connection, fail: Callable[[sqlite3.OperationalError], Exception]) -> Iterator[None]:
    """A write transaction that takes the lock up front (IMMEDIATE: no upgrade deadlock);
    committed, or rolled back on any exception; SQLite's errors become `fail(error)`."""
    try:
        with db:
            db.execute("BEGIN IMMEDIATE")
            yield
    except sqlite3.OperationalError as exc:
        raise fail(exc) from exc


class StoreError(Exception):
    """The state database cannot be used; the message says why and what to do."""


def open_store(state_dir: Path, url: str | None = None, readonly: bool = False) -> Store:
    """The state the configuration names ([store] url): the embedded SQLite under `state_dir` by
    default, else the PostgreSQL database (store/postgres.py: the same Store, translated)."""
    if url is None:
        return Store(state_dir, readonly)
    try:
        from .postgres import PostgresStore
    except ImportError as exc:
        raise _without_psycopg(exc) from exc
    return PostgresStore(url, readonly=readonly)


def migrate(state_dir: Path, url: str | None = None) -> tuple[int, int]:
    """Create or upgrade the schema of the configured state; (version before, version after)."""
    if url is not None:
        try:
            from .postgres import migrate as migrate_postgres
        except ImportError as exc:
            raise _without_psycopg(exc) from exc
        return migrate_postgres(url)
    store = Store(state_dir)
    store.close()
    return store.found_version, len(MIGRATIONS)


def _without_psycopg(exc: ImportError) -> StoreError:
    """psycopg is needed only when [store] url names PostgreSQL: the `postgres` extra."""
    return StoreError(f"[store] url names PostgreSQL, but {exc.name} is not installed: pip install 'newsmirror[postgres]'")


@dataclass(frozen=True, slots=True)
class FeedState:
    id: str
    url: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: int | None = None
    last_success: int | None = None
    last_error: str | None = None
    errors: int = 0
    next_attempt: int | None = None
    disabled: str | None = None
    min_interval: int | None = None  # seconds the feed asks between polls (ttl, max-age)
    rendered: str | None = None  # fingerprint of the settings its list was last rendered with


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    feed_id: str
    number: int
    guid: str | None
    link: str
    canonical: str | None
    title: str
    published: int
    first_seen: int
    body: str
    source_hash: str
    from_page: bool
    partial: bool
    page_attempts: int
    removed_at: int | None
    feed_hash: str | None = None  # what the feed said (title + raw body): edits show here first
    revised_at: int | None = None  # when the current version was first seen (None: first_seen)
    checked_at: int | None = None  # last takedown check
    body_key: str | None = None  # identity.body_key of the feed's text: full-body twins are one story
    adopted: int = 0  # read back from a file without the identity index: its guid is unknown (decide.BY_LINK, BY_TITLE)


@dataclass(frozen=True, slots=True)
class Listed:
    """An article as the site lists it, without its body: read from the `entries_list` index
    alone. `changed` (None: not changed since migration 15) is new whenever its body or any of
    these changes, so it stands for the body in what a page was rendered from."""

    id: int
    feed_id: str
    number: int
    title: str
    link: str
    published: int
    removed_at: int | None
    changed: int | None


@dataclass(frozen=True, slots=True)
class WaitingRow:
    """An entry a feed gave that waits for a later pass (over [limits] max_items or max_pages)."""

    id: int
    feed_id: str
    guid: str | None
    canonical: str | None
    feed_hash: str | None
    age: int  # published, else first seen: completed oldest first
    wants_page: bool
    entry: str  # JSON of the ParsedEntry's fields, as the feed gave them
    first_seen: int
    body_key: str | None = None


@dataclass(frozen=True, slots=True)
class Revision:
    """An earlier version of an article, superseded at `replaced_at`."""

    id: int
    entry_id: int
    seen_at: int
    replaced_at: int
    title: str
    body: str


_ENTRY_COLUMNS = ", ".join(EntryRow.__slots__)
_OPTIONAL: dict[str, Any] = {"body_key": None, "adopted": 0}  # columns a new entry's dict may leave out


def _rowid(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just added."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _columns(alias: str = "") -> str:
    """EntryRow's columns, from the table `alias` names."""
    return ", ".join(alias + c for c in EntryRow.__slots__)
_FEED_COLUMNS = ", ".join(FeedState.__slots__)


class Store:
    """A connection to one archive's database. Not shared between threads."""

    url: str | None = None  # [store] url: None for this embedded SQLite (PostgresStore sets it)

    def __init__(self, state_dir: Path, readonly: bool = False):
        self.path = state_dir / DB_NAME
        if readonly:  # a pool worker looking entries up while the pass writes (WAL: no blocking)
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=30)
            return
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode = WAL")
            # No fsync of our own: each checkpoint's fsync would also force out every article file
            # written so far (ext4 orders data before metadata), making a pass of 10,000 files
            # crawl. A killed process loses nothing (the OS has the writes); the pass settles
            # durability once at its end (archive.sync), and after a power cut the files, the
            # durable record, rebuild this database (`newsmirror reindex`).
            self.db.execute("PRAGMA synchronous = OFF")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.found_version = self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open {self.path}: {exc} (`newsmirror reindex` rebuilds it from the files)") from exc

    def close(self) -> None:
        self.db.close()

    def sound(self) -> bool:
        """Whether SQLite finds the whole file intact (reads every page: for `doctor` and
        `reindex`, not for every pass)."""
        return bool(self.db.execute("PRAGMA quick_check").fetchone()[0] == "ok")

    def _migrate(self) -> int:
        """Apply the migrations not run yet; the version found."""
        version: int = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} was written by a newer newsmirror (schema {version})")
        for number, script in enumerate(MIGRATIONS[version:], version + 1):
            with self.transaction():
                for statement in script.split(";\n"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")
        return version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction."""
        with immediate(self.db, lambda exc: StoreError(f"{self.path}: {exc}")):
            yield

    # --- feeds -------------------------------------------------------------------------------

    def feed(self, feed_id: str) -> FeedState:
        row = self.db.execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return FeedState(*row) if row else FeedState(feed_id)

    def feeds(self) -> dict[str, FeedState]:
        return {r[0]: FeedState(*r) for r in self.db.execute(f"SELECT {_FEED_COLUMNS} FROM feeds")}

    def save_feeds(self, states: Iterable[FeedState], rendered: bool = True) -> None:
        """Store feeds' states, in one transaction. `rendered` False: a worker's fetch state,
        leaving the writer's part (`save_rendered`) as the writer saved it meanwhile."""
        rows = [[getattr(state, c) for c in FeedState.__slots__] for state in states]
        if rows:
            marks = ", ".join("?" * len(FeedState.__slots__))
            with self.transaction():
                if rendered:
                    self.db.executemany(f"INSERT OR REPLACE INTO feeds ({_FEED_COLUMNS}) VALUES ({marks})", rows)
                else:
                    sets = ", ".join(f"{c} = excluded.{c}" for c in FeedState.__slots__ if c not in ("id", "rendered"))
                    self.db.executemany(f"INSERT INTO feeds ({_FEED_COLUMNS}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {sets}",
                                        rows)

    def save_rendered(self, rendered: Iterable[tuple[str, str | None]]) -> None:
        """(feed id, fingerprint of its list): the writer's part of feed states, saved without
        touching the workers' part (fetch state) that they save meanwhile."""
        rows = list(rendered)
        if rows:
            with self.transaction():
                self.db.executemany("INSERT INTO feeds (id, rendered) VALUES (?, ?)"
                                    " ON CONFLICT (id) DO UPDATE SET rendered = excluded.rendered", rows)

    # --- entries -----------------------------------------------------------------------------

    def _one(self, where: str, params: tuple[object, ...]) -> EntryRow | None:
        row = self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE {where} ORDER BY number DESC LIMIT 1",
                              params).fetchone()
        return EntryRow(*row) if row else None

    def known(self, feed_id: str, keys: Sequence[Keys]) -> list[EntryRow]:
        """The feed's archived entries that these keys could name under decide.py's identity
        rule (by guid; without a guid, by link; full body; title and text; adopted files by
        date), for `decide` to tell apart. A handful of indexed queries a document."""
        def rows(where: str, values: Iterable[object]) -> list[EntryRow]:
            found = sorted({v for v in values if v is not None}, key=str)
            if not found:
                return []
            return [EntryRow(*r) for r in self.db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE feed_id = ? AND {where} IN (SELECT value FROM json_each(?))"
                " ORDER BY number DESC", (feed_id, json.dumps(found)))]

        found = [*rows("guid", (k.guid for k in keys)),
                 # one entry a link names, for entries without a guid (a home page may name thousands)
                 *rows("id", (r[0] for r in self.db.execute(
                     "SELECT max(id) FROM entries WHERE feed_id = ? AND canonical IN (SELECT value FROM json_each(?))"
                     " GROUP BY canonical", (feed_id, json.dumps(sorted({k.canonical for k in keys if k.canonical and not k.guid})))))),
                 *rows("adopted = 1 AND canonical", (k.canonical for k in keys)),
                 *rows("adopted = 2 AND published", (k.published for k in keys)),
                 *rows("body_key", (k.body for k in keys)),
                 *rows("guid IS NULL AND canonical IS NULL AND feed_hash", (k.said for k in keys if not k.guid and not k.canonical))]
        unique = {r.id: r for r in found}
        return list(unique.values())

    def known_waiting(self, feed_id: str, keys: Sequence[Keys]) -> list[WaitingRow]:
        """The feed's waiting entries that these keys could name (see `known`)."""
        if not keys or not self.has_waiting(feed_id):
            return []
        found: dict[int, WaitingRow] = {}
        for column, values in (("guid", {k.guid for k in keys}), ("canonical", {k.canonical for k in keys}),
                               ("body_key", {k.body for k in keys}), ("feed_hash", {k.said for k in keys})):
            values.discard(None)
            if values:
                for r in self.db.execute(f"SELECT {', '.join(WaitingRow.__slots__)} FROM waiting WHERE feed_id = ?"
                                         f" AND {column} IN (SELECT value FROM json_each(?))", (feed_id, json.dumps(sorted(values)))):
                    found.setdefault(r[0], WaitingRow(*r))
        return list(found.values())

    def shared_with(self, feed_id: str, keys: Sequence[Keys]) -> list[EntryRow]:
        """Other feeds' articles this feed lists (dedupe = "mirror") that the keys could name:
        by canonical link or full body."""
        found: dict[int, EntryRow] = {}
        for column, values in (("canonical", {k.canonical for k in keys}), ("body_key", {k.body for k in keys})):
            values.discard(None)
            if values:
                for r in self.db.execute(f"SELECT {_columns('e.')} FROM shared s JOIN entries e ON e.id = s.entry_id"
                                         f" WHERE s.feed_id = ? AND e.{column} IN (SELECT value FROM json_each(?))",
                                         (feed_id, json.dumps(sorted(values)))):
                    found.setdefault(r[0], EntryRow(*r))
        return list(found.values())

    def elsewhere(self, feed_id: str, canonical: str | None, body_key: str | None) -> list[EntryRow]:
        """Other feeds' articles with this canonical link or full body (dedupe = "mirror")."""
        return [EntryRow(*r) for column, value in (("canonical", canonical), ("body_key", body_key)) if value
                for r in self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE {column} = ? AND feed_id != ?"
                                         " ORDER BY id LIMIT 1", (value, feed_id))]

    def learn(self, rows: Iterable[tuple[int, str, str | None]]) -> None:
        """(entry id, guid, body key): adopted articles (guid unknown) that a feed's entry turned
        out to be (decide.py, rule 5) take its guid."""
        rows = list(rows)
        if rows:
            with self.transaction():
                self.db.executemany("UPDATE entries SET guid = ?, body_key = coalesce(body_key, ?), adopted = 0"
                                    " WHERE id = ?", [(g, b, i) for i, g, b in rows])

    def entry(self, feed_id: str, number: int) -> EntryRow | None:
        return self._one("feed_id = ? AND number = ?", (feed_id, number))

    def forget(self, entry_ids: Sequence[int]) -> set[str]:
        """Delete articles with their revisions (a redaction: nothing of them may stay); returns
        the other feeds that listed them (dedupe = "mirror")."""
        if not entry_ids:
            return set()
        ids = json.dumps(list(entry_ids))
        with self.transaction():
            sharing = {r[0] for r in self.db.execute(
                "SELECT DISTINCT feed_id FROM shared WHERE entry_id IN (SELECT value FROM json_each(?))", (ids,))}
            self.db.execute("DELETE FROM entries WHERE id IN (SELECT value FROM json_each(?))", (ids,))
        return sharing

    def drop_waiting(self, waiting_ids: Sequence[int]) -> None:
        """Forget waiting entries that will never be archived (redacted articles)."""
        if waiting_ids:
            with self.transaction():
                self.db.executemany("DELETE FROM waiting WHERE id = ?", [(i,) for i in waiting_ids])

    def entry_by_link(self, canonical: str) -> EntryRow | None:
        return self._one("canonical = ?", (canonical,))

    def min_number(self, feed_id: str) -> int | None:
        number: int | None = self.db.execute("SELECT min(number) FROM entries WHERE feed_id = ?", (feed_id,)).fetchone()[0]
        return number

    def add_entries(self, rows: Iterable[Mapping[str, Any]], pending: bool = True, done_waiting: Sequence[int] = ()) -> list[EntryRow]:
        """Insert new entries (one transaction), `pending` their files; each dict holds
        EntryRow's columns but `id`. Returns them as stored, ids included, so that the caller
        need not read them back. `done_waiting`: ids of the waiting entries these are, removed
        in the same transaction (a pass killed in between neither loses nor repeats them)."""
        columns = [c for c in EntryRow.__slots__ if c != "id"]
        sql = f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        added = []
        with self.transaction():
            for r in rows:
                values = [r[c] if c in r else _OPTIONAL[c] for c in columns]
                added.append(EntryRow(_rowid(self.db.execute(sql, values)), *values))
            if pending:
                self.db.executemany("INSERT INTO unwritten (entry_id, feed_id) VALUES (?, ?)",
                                    [(r.id, r.feed_id) for r in added])
            if done_waiting:
                self.db.executemany("DELETE FROM waiting WHERE id = ?", [(i,) for i in done_waiting])
        return added

    # --- entries waiting for a later pass ----------------------------------------------------

    def add_waiting(self, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        """Keep entries for a later pass (oldest first); each dict holds WaitingRow's columns but
        `id`. Returns their ids."""
        columns = [c for c in WaitingRow.__slots__ if c != "id"]
        values = [[r[c] for c in columns] for r in rows]
        ids: list[int] = []
        if values:
            sql = f"INSERT INTO waiting ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            with self.transaction():
                ids = [_rowid(self.db.execute(sql, v)) for v in values]
        return ids

    def waiting(self, feed_id: str, limit: int) -> list[WaitingRow]:
        """A feed's waiting entries, oldest first."""
        rows = self.db.execute(f"SELECT {', '.join(WaitingRow.__slots__)} FROM waiting WHERE feed_id = ?"
                               " ORDER BY age, id LIMIT ?", (feed_id, limit))
        return [WaitingRow(*r) for r in rows]

    def has_waiting(self, feed_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM waiting WHERE feed_id = ? LIMIT 1", (feed_id,)).fetchone() is not None

    def waiting_count(self, feed_id: str) -> int:
        count: int = self.db.execute("SELECT count(*) FROM waiting WHERE feed_id = ?", (feed_id,)).fetchone()[0]
        return count

    def update_entry(self, entry_id: int, pending: bool = False, **values: object) -> None:
        """Change an entry's columns; `pending` when its file is to be written again."""
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction():
            self.db.execute(f"UPDATE entries SET {sets} WHERE id = ?", [*values.values(), entry_id])
            if pending:
                self._unwritten(entry_id)

    def _unwritten(self, entry_id: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO unwritten (entry_id, feed_id) SELECT id, feed_id FROM entries WHERE id = ?",
                        (entry_id,))

    def remember_feed_hashes(self, pairs: Iterable[tuple[int, str]]) -> None:
        pairs = list(pairs)
        if pairs:
            with self.transaction():
                self.db.executemany("UPDATE entries SET feed_hash = ? WHERE id = ?", [(h, i) for i, h in pairs])

    def entries(self, feed_id: str, limit: int | None = None) -> list[EntryRow]:
        """A feed's entries, newest (lowest number) first."""
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE feed_id = ? ORDER BY number"
        params: list[object] = [feed_id]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [EntryRow(*r) for r in self.db.execute(sql, params)]

    def list_lines(self, feed_id: str, limit: int) -> list[Article]:
        """What a feed's list page shows (no bodies), newest first, from the `entries_list`
        index alone; shared articles (dedupe = "mirror") placed by when this feed carried them."""
        own = self.db.execute("SELECT first_seen, feed_id, number, title, link, published, removed_at FROM entries"
                              " INDEXED BY entries_list WHERE feed_id = ? ORDER BY number LIMIT ?", (feed_id, limit)).fetchall()
        shared = self.db.execute("SELECT s.first_seen, e.feed_id, e.number, e.title, e.link, e.published, e.removed_at"
                                 " FROM shared s JOIN entries e ON e.id = s.entry_id WHERE s.feed_id = ?"
                                 " ORDER BY s.first_seen DESC LIMIT ?", (feed_id, limit)).fetchall()
        rows = own if not shared else sorted(own + shared, key=lambda r: (r[0], -r[2]), reverse=True)[:limit]
        return [Article(f, n, t, link, p, "", removed) for _, f, n, t, link, p, removed in rows]

    def listed(self, feed_id: str, limit: int) -> list[Listed]:
        """What a feed's list shows, newest first, without bodies: its own entries and those it
        shares with another feed (dedupe = "mirror"), the shared ones placed by when this feed
        carried them."""
        columns = "e.id, e.feed_id, e.number, e.title, e.link, e.published, e.removed_at, c.changed"
        own = [(r[0], -r[3], Listed(*r[1:])) for r in self.db.execute(
            f"SELECT e.first_seen, {columns} FROM entries e INDEXED BY entries_list"
            " LEFT JOIN entry_changes c ON c.entry_id = e.id WHERE e.feed_id = ? ORDER BY e.number LIMIT ?", (feed_id, limit))]
        rows = self.db.execute(f"SELECT s.first_seen, {columns} FROM shared s JOIN entries e ON e.id = s.entry_id"
                               " LEFT JOIN entry_changes c ON c.entry_id = e.id WHERE s.feed_id = ? ORDER BY s.first_seen DESC LIMIT ?",
                               (feed_id, limit)).fetchall()
        if not rows:
            return [r for _, _, r in own]
        shared = [(r[0], -r[3], Listed(*r[1:])) for r in rows]
        return [r for _, _, r in sorted(own + shared, key=lambda t: (t[0], t[1]), reverse=True)][:limit]

    def last_change(self) -> int:
        """The change number of the last change to an entry (migration 15); 0 before any."""
        last: int = self.db.execute("SELECT coalesce(max(changed), 0) FROM entry_changes").fetchone()[0]
        return last

    def changed_since(self, mark: int) -> tuple[list[Listed], bool]:
        """The entries added or changed since change number `mark`, read in the order of the
        `entry_changes_order` index (no more than they are), and whether an entry was deleted since."""
        ids = [i for (i,) in self.db.execute("SELECT entry_id FROM entry_changes WHERE changed > ?", (mark,))]
        rows = self.db.execute("SELECT e.id, e.feed_id, e.number, e.title, e.link, e.published, e.removed_at, c.changed"
                               " FROM entries e JOIN entry_changes c ON c.entry_id = e.id"
                               " WHERE e.id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))
        return [Listed(*r) for r in rows], 0 in ids

    def dated(self, start: int, end: int) -> list[Listed]:
        """The entries dated (`published`) from `start` to before `end` (ms): a day of the site,
        read from the `entries_all_dated` index."""
        return [Listed(*r) for r in self.db.execute(
            "SELECT e.id, e.feed_id, e.number, e.title, e.link, e.published, e.removed_at, c.changed FROM entries e"
            " LEFT JOIN entry_changes c ON c.entry_id = e.id WHERE e.published >= ? AND e.published < ?", (start, end))]

    def listed_summary(self, feed_id: str) -> tuple[int, int | None, bool]:
        """How many articles a feed's list shows, the newest date among them, and whether it
        shares another feed's (dedupe = "mirror"): counted in the indexes, no row read."""
        count, newest = self.db.execute("SELECT count(*), max(published) FROM entries INDEXED BY entries_dated"
                                        " WHERE feed_id = ?", (feed_id,)).fetchone()
        shared, shared_newest = self.db.execute("SELECT count(*), max(e.published) FROM shared s JOIN entries e"
                                                " ON e.id = s.entry_id WHERE s.feed_id = ?", (feed_id,)).fetchone()
        dates = [d for d in (newest, shared_newest) if d is not None]
        return count + shared, max(dates, default=None), bool(shared)

    def entries_by_id(self, ids: Sequence[int]) -> Iterator[EntryRow]:
        """These entries, oldest first, streamed (a first pass may have written 10,000)."""
        cursor = self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id IN (SELECT value FROM json_each(?))"
                                 " ORDER BY published", (json.dumps(list(ids)),))
        return (EntryRow(*r) for r in cursor)

    def all_entries(self) -> Iterator[EntryRow]:
        """Every entry, oldest first (rebuilding derived data: the search index)."""
        return (EntryRow(*r) for r in self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries ORDER BY published"))

    def newest(self, limit: int, feed_id: str | None = None) -> list[EntryRow]:
        """The newest articles by their date (`published`: the entry's, else its update's, else
        when it was stored), ties by number: the mirror's (feeds/all.*), or one feed's with the
        articles it shares (dedupe = "mirror") for its re-published feeds. Read in the order of
        the `entries_dated` indexes: `limit` rows, never a sort of the archive."""
        order = "ORDER BY published DESC, feed_id, number LIMIT ?"
        if feed_id is None:
            return [EntryRow(*r) for r in self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries {order}", (limit,))]
        ids = ("SELECT id FROM (SELECT id FROM entries WHERE feed_id = ? ORDER BY published DESC, number LIMIT ?) own"
               " UNION ALL SELECT id FROM (SELECT e.id FROM shared s JOIN entries e ON e.id = s.entry_id"
               " WHERE s.feed_id = ? ORDER BY e.published DESC, e.feed_id, e.number LIMIT ?) carried")
        rows = self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id IN ({ids}) {order}",
                               (feed_id, limit, feed_id, limit, limit))
        return [EntryRow(*r) for r in rows]

    def share(self, feed_id: str, entry_id: int, now: int, done_waiting: int | None = None) -> None:
        """This feed lists another feed's article (and the waiting entry it was is done)."""
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO shared (feed_id, entry_id, first_seen) VALUES (?, ?, ?)",
                            (feed_id, entry_id, now))
            if done_waiting is not None:
                self.db.execute("DELETE FROM waiting WHERE id = ?", (done_waiting,))

    def revise(self, row: EntryRow, title: str, body: str, source_hash: str, feed_hash: str | None, now: int) -> None:
        """Keep the current version as a revision and make the new one current (file to rewrite)."""
        with self.transaction():
            self.db.execute("INSERT INTO revisions (entry_id, seen_at, replaced_at, title, body) VALUES (?, ?, ?, ?, ?)",
                            (row.id, row.revised_at or row.first_seen, now, row.title, row.body))
            self.db.execute("UPDATE entries SET title = ?, body = ?, source_hash = ?, feed_hash = ?, revised_at = ?"
                            " WHERE id = ?", (title, body, source_hash, feed_hash, now, row.id))
            self._unwritten(row.id)

    def return_to(self, row: EntryRow, revision_id: int, title: str, body: str, source_hash: str,
                  feed_hash: str | None, now: int) -> None:
        """Make current again the version that revision `revision_id` holds (revisions.ReturnTo):
        that revision now holds the version it replaces, so each version is kept once, in the
        order they were last current."""
        with self.transaction():
            self.db.execute("UPDATE revisions SET seen_at = ?, replaced_at = ?, title = ?, body = ? WHERE id = ?",
                            (row.revised_at or row.first_seen, now, row.title, row.body, revision_id))
            self.db.execute("UPDATE entries SET title = ?, body = ?, source_hash = ?, feed_hash = ?, revised_at = ?"
                            " WHERE id = ?", (title, body, source_hash, feed_hash, now, row.id))
            self._unwritten(row.id)

    def count_suppressed(self, entry_id: int, reason: str, digest: str, now: int) -> None:
        """Count a change not kept as a revision; one held back over the limit (compared again
        on later passes) counts once."""
        with self.transaction():
            self.db.execute("INSERT INTO suppressed (entry_id, reason, count, last_at, last_hash) VALUES (?, ?, 1, ?, ?)"
                            " ON CONFLICT (entry_id, reason) DO UPDATE SET"
                            " count = suppressed.count + CASE WHEN suppressed.reason != 'limit'"
                            " OR suppressed.last_hash != excluded.last_hash THEN 1 ELSE 0 END,"
                            " last_at = excluded.last_at, last_hash = excluded.last_hash",
                            (entry_id, reason, now, digest))

    def suppressed(self, entry_id: int) -> dict[str, int]:
        """reason -> how many changes to this article were not kept as revisions."""
        return dict(self.db.execute("SELECT reason, count FROM suppressed WHERE entry_id = ?", (entry_id,)).fetchall())

    def feed_changes(self) -> dict[str, tuple[int, int]]:
        """feed id -> (revisions stored, articles removed at the source), for `list`."""
        revised = dict(self.db.execute("SELECT e.feed_id, count(*) FROM revisions r JOIN entries e ON e.id = r.entry_id"
                                       " GROUP BY e.feed_id").fetchall())
        removed = dict(self.db.execute("SELECT feed_id, count(*) FROM entries WHERE removed_at IS NOT NULL"
                                       " GROUP BY feed_id").fetchall())
        return {f: (revised.get(f, 0), removed.get(f, 0)) for f in revised.keys() | removed.keys()}

    def add_revisions(self, rows: Iterable[tuple[int, int, int, str, str]]) -> None:
        """(entry_id, seen_at, replaced_at, title, body): history read back from git by reindex."""
        with self.transaction():
            self.db.executemany("INSERT INTO revisions (entry_id, seen_at, replaced_at, title, body) VALUES (?, ?, ?, ?, ?)",
                                rows)

    def revisions(self, entry_id: int) -> list[Revision]:
        """Earlier versions, oldest first."""
        return [Revision(*r) for r in self.db.execute(
            "SELECT id, entry_id, seen_at, replaced_at, title, body FROM revisions WHERE entry_id = ? ORDER BY seen_at, id",
            (entry_id,))]

    def revision_summary(self) -> dict[int, tuple[int, int]]:
        """entry id -> (how many earlier versions, id of the last one), for every revised entry."""
        return {entry: (count, last) for entry, count, last in
                self.db.execute("SELECT entry_id, count(*), max(id) FROM revisions GROUP BY entry_id")}

    def to_recheck(self, feed_ids: list[str], since: int, older_than: int, checked_before: int,
                   limit: int) -> list[EntryRow]:
        """Recent articles of these feeds not known to be removed and not checked lately, least
        recently checked first (takedowns). Chosen from the `entries_recheck` index alone (the
        articles stored in the window), then only those `limit` rows read."""
        marks = ", ".join("?" * len(feed_ids))
        order = "ORDER BY coalesce(checked_at, 0), first_seen DESC"
        rows = self.db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id IN (SELECT id FROM entries INDEXED BY entries_recheck"
            f" WHERE feed_id IN ({marks}) AND removed_at IS NULL AND link != '' AND first_seen >= ? AND first_seen < ?"
            f" AND coalesce(checked_at, 0) < ? {order} LIMIT ?) {order}",
            (*feed_ids, since, older_than, checked_before, limit))
        return [EntryRow(*r) for r in rows]

    def pending(self, feed_id: str | None = None, besides: AbstractSet[int] = frozenset()) -> list[EntryRow]:
        """Entries stored whose files are not written yet (all feeds', or one's), but those in
        `besides` (being written already: their bodies are not read again)."""
        where, params = ("", ()) if feed_id is None else (" WHERE feed_id = ?", (feed_id,))
        ids = [i for (i,) in self.db.execute(f"SELECT entry_id FROM unwritten{where}", params) if i not in besides]
        return list(self.entries_by_id(ids)) if ids else []

    def mark_written(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids:
            with self.transaction():
                self.db.executemany("DELETE FROM unwritten WHERE entry_id = ?", [(i,) for i in ids])

    def retry_partial(self, feed_id: str, max_attempts: int) -> list[EntryRow]:
        """Entries whose page could not be had yet and may be tried again. From the
        `entries_partial` index: left to itself, SQLite read every article of the feed, bodies and
        all, to find the few partial ones, each pass (bench/growth.py)."""
        rows = self.db.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries INDEXED BY entries_partial"
                               " WHERE feed_id = ? AND partial AND page_attempts < ?", (feed_id, max_attempts))
        return [EntryRow(*r) for r in rows]

    def images(self, image_urls: Iterable[str]) -> dict[str, str | None]:
        """Local copies already made (url -> path, or None when the download failed)."""
        found: dict[str, str | None] = {}
        for url in image_urls:
            row = self.db.execute("SELECT path FROM images WHERE url = ?", (url,)).fetchone()
            if row:
                found[url] = row[0]
        return found

    def save_images(self, rows: Iterable[tuple[str, str | None, str | None, int]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO images (url, path, error, fetched) VALUES (?, ?, ?, ?)", rows)

    def proxy_choices(self, hosts: Iterable[str], fresh_since: int) -> dict[str, int]:
        """Proxy template chosen for each image host, when checked since `fresh_since`."""
        found = {}
        for host in hosts:
            row = self.db.execute("SELECT template FROM proxy_hosts WHERE host = ? AND checked >= ?",
                                  (host, fresh_since)).fetchone()
            if row:
                found[host] = row[0]
        return found

    def save_proxy_choices(self, choices: dict[str, int], now: int) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO proxy_hosts (host, template, checked) VALUES (?, ?, ?)",
                                [(h, t, now) for h, t in choices.items()])

    def published_between(self, start: int, end: int, limit: int) -> tuple[list[EntryRow], int]:
        """The first `limit` articles dated in [start, end) (ms), oldest first, and how many are
        dated there in all: a day's, for the digest, read in the order of `entries_all_dated`."""
        rows = self.db.execute(f"SELECT {_ENTRY_COLUMNS}, count(*) OVER () FROM entries WHERE published >= ? AND published < ?"
                               " ORDER BY published, feed_id, number LIMIT ?", (start, end, limit)).fetchall()
        return [EntryRow(*r[:-1]) for r in rows], rows[0][-1] if rows else 0

    def image_sources(self, paths: Iterable[str]) -> dict[str, str]:
        """The image URL of each local copy (`media/...`) among `paths`: one scan of the images."""
        rows = self.db.execute("SELECT path, url FROM images WHERE path IN (SELECT value FROM json_each(?))",
                               (json.dumps(list(paths)),))
        return dict(rows.fetchall())

    def published(self, feed_id: str, limit: int = 40) -> list[int]:
        """Dates of the feed's newest entries (for its health)."""
        return [r[0] for r in self.db.execute("SELECT published FROM entries WHERE feed_id = ? ORDER BY published DESC"
                                              " LIMIT ?", (feed_id, limit))]

    def count(self) -> int:
        count: int = self.db.execute("SELECT count(*) FROM entries").fetchone()[0]
        return count

    def has_entries(self) -> bool:
        return self.db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT feed_id, count(*) FROM entries GROUP BY feed_id").fetchall())

    def feed_ids_with_entries(self) -> list[str]:
        """Every feed that archived articles, configured or not, in id order: one index look-up a
        feed (every pass asks, for the feeds no longer mirrored; a DISTINCT scanned the whole
        index, 45 ms at 100,000 articles)."""
        return [r[0] for r in self.db.execute(
            "WITH RECURSIVE f(id) AS (SELECT min(feed_id) FROM entries UNION ALL"
            " SELECT (SELECT min(feed_id) FROM entries WHERE feed_id > f.id) FROM f WHERE f.id IS NOT NULL)"
            " SELECT id FROM f WHERE id IS NOT NULL")]

    def clear(self) -> None:
        """Forget every entry and fetch state (reindex starts from the files)."""
        with self.transaction():
            for table in ("revisions", "suppressed", "shared", "unwritten", "entries", "feeds"):
                self.db.execute(f"DELETE FROM {table}")

    def rebuilding(self) -> None:
        """The entries are about to be read back from the files (cleared, then feed by feed): the
        state counts as incomplete until `rebuilt()`, so that a rebuild killed half-way is done
        again, never taken for a whole state whose missing feeds a pass would archive twice."""
        self._rebuilding.touch()

    def rebuilt(self) -> None:
        """The entries are read back from every file: the state is whole again."""
        self._rebuilding.unlink(missing_ok=True)

    def incomplete(self) -> bool:
        """Whether a rebuild from the files began (`rebuilding`) and did not finish."""
        return self._rebuilding.exists()

    @property
    def _rebuilding(self) -> Path:
        return self.path.with_name(REBUILDING)
