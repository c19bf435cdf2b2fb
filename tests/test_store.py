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


def test_takedown_checks_are_chosen_from_an_index_without_reading_articles(tmp_path):
    # Filtering every article of every feed on when it was stored read the whole archive, bodies
    # and all, each pass (bench/growth.py).
    store = Store(tmp_path)
    store.add_entries([{"feed_id": "voa", "number": n, "guid": None, "link": f"https://x/{n}", "canonical": None,
                        "title": "t", "published": n, "first_seen": n, "body": "<p>b</p>", "source_hash": "h",
                        "from_page": 0, "partial": 0, "page_attempts": 0, "removed_at": None, "feed_hash": None,
                        "revised_at": None, "checked_at": None} for n in range(1, 6)], pending=False)
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    assert [r.number for r in store.to_recheck(["voa"], since=2, older_than=5, checked_before=1, limit=2)] == [4, 3]
    store.db.set_trace_callback(None)
    plan = [r[3] for r in store.db.execute(f"EXPLAIN QUERY PLAN {statements[-1]}")]
    assert any("COVERING INDEX entries_recheck" in step for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan
    store.close()


def test_what_the_site_shows_of_an_article_changing_gives_it_a_new_change_number(tmp_path):
    # The site reads only the articles changed since its last build (render/site.py): an edit,
    # a takedown, a new article; a takedown check that found nothing is no change.
    store = Store(tmp_path)
    [a, b] = store.add_entries([{"feed_id": "voa", "number": n, "guid": None, "link": f"https://x/{n}", "canonical": None,
                                 "title": "t", "published": n, "first_seen": n, "body": "<p>b</p>", "source_hash": "h",
                                 "from_page": 0, "partial": 0, "page_attempts": 0, "removed_at": None, "feed_hash": None,
                                 "revised_at": None, "checked_at": None} for n in (1, 2)], pending=False)
    mark = store.last_change()
    assert store.changed_since(mark) == ([], False)
    store.update_entry(a.id, checked_at=5)
    assert store.changed_since(mark) == ([], False)
    store.revise(b, "t2", "<p>b2</p>", "h2", None, 6)
    store.update_entry(a.id, checked_at=7, removed_at=7)
    changed, deleted = store.changed_since(mark)
    assert sorted((r.number, r.title, r.removed_at) for r in changed) == [(1, "t", 7), (2, "t2", None)] and not deleted
    assert all(r.changed is not None and r.changed > mark for r in changed)
    assert [r.changed for r in store.listed("voa", 10)] == sorted(r.changed for r in changed)[::-1]  # b revised first
    mark = store.last_change()
    store.clear()  # reindex: every entry deleted, their ids used again
    assert store.changed_since(mark) == ([], True)
    store.close()
