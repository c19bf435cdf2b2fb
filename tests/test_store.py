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


def test_partial_articles_to_retry_are_found_from_their_index_without_reading_the_feed(tmp_path):
    # Picked among all of a feed's articles (the `entries_dated` index), a pass read each feed's
    # every article, bodies and all, to find the few partial ones (bench/growth.py).
    store = Store(tmp_path)
    store.add_entries([{"feed_id": "voa", "number": n, "guid": None, "link": f"https://x/{n}", "canonical": None,
                        "title": "t", "published": n, "first_seen": n, "body": "<p>b</p>", "source_hash": "h",
                        "from_page": 0, "partial": int(n in (2, 4)), "page_attempts": n, "removed_at": None,
                        "feed_hash": None, "revised_at": None, "checked_at": None} for n in range(1, 6)], pending=False)
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    assert [r.number for r in store.retry_partial("voa", max_attempts=3)] == [2]
    assert sorted(r.number for r in store.retry_partial("voa", max_attempts=5)) == [2, 4]
    assert store.retry_partial("rfa", max_attempts=5) == []
    store.db.set_trace_callback(None)
    plan = [r[3] for r in store.db.execute(f"EXPLAIN QUERY PLAN {statements[-1]}")]
    assert plan == ["SEARCH entries USING INDEX entries_partial (feed_id=?)"], plan
    store.close()
