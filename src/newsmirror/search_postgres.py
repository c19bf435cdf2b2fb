"""Search on PostgreSQL ([store] url): the index in the state's own database, so that every
machine sharing it searches the same archive.

The same tokens as SQLite's index (search.py: every character and bigram of the folded text, the
title's marked, the feed's), matched, confirmed, ranked and highlighted by the same `Searcher`
code; only the storage differs. Each document keeps its distinct tokens as a `text[]` under a GIN
index: `tokens @> ARRAY[...]` finds the documents holding every token of a query, read newest
first a page at a time (ORDER BY id DESC LIMIT), as FTS5 gives SQLite's rowids in descending
order. The tables are created by `newsmirror migrate` (store/postgres.py: SEARCH_SCHEMA).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg

from .search import _TITLE, _WINDOW, TOTAL_MAX, Doc, Searcher, SearchError, _bounds, _Found, _prepared, _Row, _scheme
from .store.postgres import Connection

_PAGE = _WINDOW  # candidate rows read a query at a time: most searches rank the first page only
_ANALYZE_AFTER = 2000  # documents added at once past which the planner's statistics are renewed at once
_SCHEME_LOCK = 0x6E6D7363  # pg_advisory_xact_lock key while the scheme is checked ("nmsc")
_UPSERT = ("INSERT INTO search_docs (feed_id, number, title, link, published, text, ftitle, ftext, tokens, titles)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed_id, number) DO UPDATE SET"
           " title = excluded.title, link = excluded.link, published = excluded.published, text = excluded.text,"
           " ftitle = excluded.ftitle, ftext = excluded.ftext, tokens = excluded.tokens,"
           " titles = excluded.titles")


class PostgresSearch(Searcher):
    """The search tables of a PostgreSQL database."""

    docs = "search_docs"
    errors = (psycopg.Error,)

    def __init__(self, url: str, *, half_life_days: float = 90.0):
        super().__init__(half_life_days)
        self.where = f"PostgreSQL database {psycopg.conninfo.conninfo_to_dict(url).get('dbname', url)}"
        try:
            self.db = Connection(url)
        except psycopg.Error as exc:
            raise self._fail(exc) from exc
        # Never a generic plan (psycopg prepares a statement run 5 times): only the tokens say
        # whether the newest rows are read in id order and filtered (a common token) or the GIN
        # index is asked first (a rare one); a generic plan chose the latter for all, 10x slower.
        self.db.pg.prepare_threshold = None
        try:
            with self._transaction():
                self._open_schema()
        except SearchError:
            self.close()
            raise

    def _open_schema(self) -> None:
        """Empty the index when it was made for another scheme (another fold, other tokens): one
        machine at a time, so that two opening it at once do not both empty it."""
        if self.db.execute("SELECT to_regclass('search_docs')").fetchone()[0] is None:
            raise SearchError(f"{self.where} has no search tables: run `newsmirror migrate`")
        self.db.execute(f"SELECT pg_advisory_xact_lock({_SCHEME_LOCK})")
        if self.db.execute("SELECT value FROM search_meta WHERE key = 'scheme'").fetchone() == (_scheme(),):
            return
        self.db.execute("DELETE FROM search_docs")
        self.db.execute("INSERT INTO search_meta VALUES ('scheme', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (_scheme(),))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self.db.pg.transaction():
                yield
        except psycopg.Error as exc:
            raise self._fail(exc) from exc

    def add(self, docs: Iterable[Doc]) -> int:
        """As `Searcher.add`; after a big batch the token statistics are renewed before the next
        search, not when autovacuum gets to it: without them every token looks rare, and a common
        one is answered through the GIN index (all its matches read, then sorted) 10x slower."""
        written = super().add(docs)
        if written >= _ANALYZE_AFTER:
            self.db.execute("ANALYZE search_docs")
        return written

    def rebuild(self, docs: Iterable[Doc]) -> int:
        with self._transaction():
            self.db.execute("DELETE FROM search_docs")  # not TRUNCATE: searches read the old rows until the commit
            written = 0
            for rows in _prepared(docs):
                self._write(rows)
                written += len(rows)
        # the tokens' element statistics: the planner then knows a rare token from a common one (`add`)
        self.db.execute("ANALYZE search_docs")
        return written

    def _write(self, rows: list[_Row]) -> None:
        """A replaced document keeps its id (as in SQLite's index). The token string SQLite's FTS5
        splits on white space is split here: the same distinct tokens, the title's marked ones apart."""
        values = []
        for row in rows:
            tokens = set(row[8].split())
            titles = {t for t in tokens if t[0] == _TITLE}
            values.append((*row[:8], list(tokens - titles), list(titles)))
        self.db.executemany(_UPSERT, values)

    def _unindex(self, feed_id: str, number: int) -> int | None:
        # psycopg's own cursor: Connection reads a RETURNING id itself, as an INSERT's new id
        row = self.db.pg.execute("DELETE FROM search_docs WHERE feed_id = %s AND number = %s RETURNING id",
                                 (feed_id, number)).fetchone()
        return None if row is None else int(row[0])

    def _rows(self, need: list[str], any_of: list[list[str]], lo: int, hi: int) -> Iterator[_Found]:
        """Page by page from the newest: a query for a common word reads one page, not every match.

        Groups (title tokens) are first tested by one overlap of the small title arrays: PostgreSQL
        orders conditions by their operator count, not by what they read, and put the OR of the
        groups after the test of the body's tokens, read (and decompressed) for every row: 8x slower."""
        titled = " AND titles && ?" if any_of else ""
        groups = " AND (" + " OR ".join(["titles @> ?"] * len(any_of)) + ")" if any_of else ""
        sql = (f"SELECT id, feed_id, published, ftitle, ftext FROM search_docs WHERE id BETWEEN ? AND ?{titled}"
               f" AND tokens @> ?{groups} ORDER BY id DESC LIMIT {_PAGE}")
        anywhere = [list(dict.fromkeys(t for group in any_of for t in group))] if any_of else []
        while lo <= hi:
            rows = self.db.execute(sql, (lo, hi, *anywhere, need, *any_of)).fetchall()
            yield from rows
            if len(rows) < _PAGE:
                return
            hi = rows[-1][0] - 1

    def _count(self, need: list[str], lo: int, hi: int, since: int | None, until: int | None) -> int:
        dated = "" if since is None and until is None else " AND published BETWEEN ? AND ?"
        bounds = _bounds(since, until) if dated else ()
        total: int = self.db.execute(f"SELECT count(*) FROM (SELECT 1 FROM search_docs WHERE tokens @> ? AND id BETWEEN ? AND ?"
                                     f"{dated} LIMIT ?) AS found", (need, lo, hi, *bounds, TOTAL_MAX + 1)).fetchone()[0]
        return total
