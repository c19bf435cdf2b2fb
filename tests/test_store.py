"""The archive's database: migrations keep what older versions stored."""

from __future__ import annotations

import sqlite3

from newsmirror.store import DB_NAME, Store
from newsmirror.store.migrations import MIGRATIONS


def test_articles_stored_but_unwritten_before_migration_9_are_still_written(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    for number, script in enumerate(MIGRATIONS[:8], 1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    columns = "feed_id, number, link, title, published, first_seen, body, source_hash, pending"
    db.execute(f"INSERT INTO entries ({columns}) VALUES ('voa', 7, '', 'a', 1, 1, '<p>a</p>', 'h', 1)")
    db.execute(f"INSERT INTO entries ({columns}) VALUES ('voa', 8, '', 'b', 1, 1, '<p>b</p>', 'h', 0)")
    db.commit()
    db.close()

    store = Store(tmp_path)
    assert [r.number for r in store.pending()] == [7]
    assert [r.number for r in store.pending("voa")] == [7] and store.pending("rfa") == []
    store.mark_written([r.id for r in store.pending()])
    assert store.pending() == []
    store.close()
