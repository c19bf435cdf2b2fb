"""The archive's database: one Store on two back ends (the embedded SQLite, PostgreSQL), tested
on both through the `store` fixture; migrations keep what older versions stored."""

from __future__ import annotations

import sqlite3

import pytest

from newsmirror.decide import Keys
from newsmirror.store import DB_NAME, FeedState, Store, StoreError, migrate, open_store
from newsmirror.store.migrations import MIGRATIONS


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A new, migrated state: SQLite under the state folder, or a PostgreSQL database of this test's own."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    assert migrate(tmp_path, url) == (0, len(MIGRATIONS))
    opened = open_store(tmp_path, url)
    yield opened
    opened.close()


def entry(number: int, feed_id: str = "voa", **values: object) -> dict[str, object]:
    """A new entry's columns; `values` change any."""
    return {"feed_id": feed_id, "number": number, "guid": f"g{number}", "link": f"https://x/{number}",
            "canonical": f"https://x/{number}", "title": f"t{number}", "published": 1_715_000_000_000 + number,
            "first_seen": 1_715_000_000_000 + number, "body": f"<p>{number}</p>", "source_hash": "h", "from_page": 0,
            "partial": 0, "page_attempts": 0, "removed_at": None, "feed_hash": f"said{number}", "revised_at": None,
            "checked_at": None} | values


def keys(guid: str | None = None, canonical: str | None = None, body: str | None = None, said: str = "",
         published: int | None = None) -> Keys:
    return Keys(guid, canonical, body, said, published=published)


def test_entries_are_stored_with_their_ids_and_pending_until_written(store):
    added = store.add_entries([entry(1), entry(2), entry(1, "rfa")])
    assert [(r.feed_id, r.number) for r in added] == [("voa", 1), ("voa", 2), ("rfa", 1)]
    assert store.entry("voa", 2) == added[1] and store.entry_by_link("https://x/1").feed_id in ("voa", "rfa")
    assert sorted(r.id for r in store.pending()) == sorted(r.id for r in added)
    assert [r.number for r in store.pending("voa", besides={added[0].id})] == [2]
    store.mark_written([added[0].id, added[1].id])
    assert [r.feed_id for r in store.pending()] == ["rfa"]
    assert store.count() == 3 and store.has_entries() and store.counts() == {"voa": 2, "rfa": 1}
    assert store.min_number("voa") == 1 and store.min_number("dw") is None
    assert [r.number for r in store.entries_by_id([added[1].id, added[0].id])] == [1, 2]  # oldest first


def test_an_entry_changed_is_written_again(store):
    (row,) = store.add_entries([entry(1, partial=1)], pending=False)
    assert store.retry_partial("voa", max_attempts=3) == [row]
    store.update_entry(row.id, pending=True, partial=0, page_attempts=1, body="<p>whole</p>")
    assert store.retry_partial("voa", max_attempts=3) == []
    assert [(r.body, r.page_attempts) for r in store.pending()] == [("<p>whole</p>", 1)]
    store.update_entry(row.id, pending=True, title="again")  # pending once, however often changed
    assert [r.title for r in store.pending()] == ["again"]


def test_known_finds_entries_by_guid_by_link_without_guid_by_body_and_by_what_the_feed_said(store):
    by_guid, by_link, by_body, by_said, other = store.add_entries([
        entry(1), entry(2, guid=None), entry(3, body_key="k3"),
        entry(4, guid=None, canonical=None, feed_hash="said4"), entry(5, "rfa")], pending=False)
    found = store.known("voa", [keys(guid="g1"), keys(canonical="https://x/2"), keys(body="k3"), keys(said="said4"),
                                keys(guid="g5"), keys(guid="unknown")])
    assert sorted(r.number for r in found) == [1, 2, 3, 4]
    assert store.known("voa", []) == [] and store.known("rfa", [keys(guid="g1")]) == []
    assert store.elsewhere("rfa", "https://x/1", None) == [by_guid]
    store.learn([(by_link.id, "g2", "k2")])
    assert store.known("voa", [keys(guid="g2")]) == [store.entry("voa", 2)]


def test_adopted_articles_are_known_by_link_or_by_date(store):
    store.add_entries([entry(1, guid=None, adopted=1), entry(2, guid=None, canonical=None, adopted=2, published=77)],
                      pending=False)
    assert [r.number for r in store.known("voa", [keys(guid="new", canonical="https://x/1")])] == [1]
    assert [r.number for r in store.known("voa", [keys(guid="new", published=77)])] == [2]


def test_feed_states_are_replaced_whole(store):
    store.save_feeds([FeedState("voa", url="https://v", etag="e1", errors=2), FeedState("rfa", title="自由亚洲")])
    store.save_feeds([FeedState("voa", url="https://v", last_modified="m", next_attempt=2**40)])
    assert store.feed("voa") == FeedState("voa", url="https://v", last_modified="m", next_attempt=2**40)
    assert store.feeds()["rfa"].title == "自由亚洲" and store.feed("dw") == FeedState("dw")


def test_waiting_entries_come_oldest_first_and_leave_when_stored(store):
    rows = [{"feed_id": "voa", "guid": f"w{age}", "canonical": None, "feed_hash": "s", "age": age, "wants_page": 1,
             "entry": "{}", "first_seen": 1, "body_key": None} for age in (30, 10, 20)]
    ids = store.add_waiting(rows)
    assert [w.age for w in store.waiting("voa", 2)] == [10, 20] and store.waiting_count("voa") == 3
    assert [w.guid for w in store.known_waiting("voa", [keys(guid="w30")])] == ["w30"]
    assert store.has_waiting("voa") and not store.has_waiting("rfa")
    store.add_entries([entry(1)], done_waiting=ids[:2])
    assert [w.age for w in store.waiting("voa", 10)] == [20]


def test_an_article_shared_by_another_feed_is_listed_there_by_when_it_carried_it(store):
    own, theirs = store.add_entries([entry(1, "bbc", first_seen=100), entry(1, "voa", first_seen=50, published=9**15, body_key="k")],
                                    pending=False)
    store.share("bbc", theirs.id, now=200)
    store.share("bbc", theirs.id, now=300)  # once
    assert [(r.feed_id, r.number) for r in store.listed("bbc", 10)] == [("voa", 1), ("bbc", 1)]
    assert [(a.feed_id, a.number) for a in store.list_lines("bbc", 10)] == [("voa", 1), ("bbc", 1)]
    assert store.shared_with("bbc", [keys(body="k")]) == [theirs]
    assert [r.id for r in store.newest(10, "bbc")] == [theirs.id, own.id]  # by date: theirs is newer
    assert store.newest(1) == [theirs]


def test_revisions_keep_each_version_once_in_the_order_they_were_current(store):
    (row,) = store.add_entries([entry(1, title="v1", body="<p>1</p>")], pending=False)
    store.revise(row, "v2", "<p>2</p>", "h2", "said2", now=10)
    (old,) = store.revisions(row.id)
    assert (old.title, old.replaced_at) == ("v1", 10) and [r.title for r in store.pending()] == ["v2"]
    store.return_to(store.entry("voa", 1), old.id, "v1", "<p>1</p>", "h", "said1", now=20)
    assert [r.title for r in store.revisions(row.id)] == ["v2"] and store.entry("voa", 1).title == "v1"
    assert store.revision_summary() == {row.id: (1, old.id)}
    store.update_entry(row.id, removed_at=30)
    assert store.feed_changes() == {"voa": (1, 1)}
    store.add_revisions([(row.id, 1, 2, "v0", "<p>0</p>")])
    assert [r.title for r in store.revisions(row.id)] == ["v0", "v2"]


def test_a_change_held_back_over_the_limit_counts_once(store):
    (row,) = store.add_entries([entry(1)], pending=False)
    for reason, digest in (("volatile", "a"), ("volatile", "a"), ("limit", "b"), ("limit", "b"), ("limit", "c")):
        store.count_suppressed(row.id, reason, digest, now=1)
    assert store.suppressed(row.id) == {"volatile": 2, "limit": 2}


def test_takedown_checks_go_to_the_least_recently_checked(store):
    store.add_entries([entry(n, first_seen=n, checked_at=10 - n if n < 3 else None) for n in range(1, 6)]
                      + [entry(6, first_seen=4, link="")], pending=False)
    assert [r.number for r in store.to_recheck(["voa", "rfa"], since=1, older_than=5, checked_before=9, limit=3)] == [4, 3, 2]


def test_image_copies_and_proxy_choices_are_replaced(store):
    store.save_images([("https://i/1", "media/aa/1.jpg", None, 1), ("https://i/2", None, "404", 1)])
    store.save_images([("https://i/2", "media/bb/2.jpg", None, 2)])
    assert store.images(["https://i/1", "https://i/2", "https://i/3"]) == {"https://i/1": "media/aa/1.jpg",
                                                                          "https://i/2": "media/bb/2.jpg"}
    store.save_proxy_choices({"a.com": 1, "b.com": 0}, now=100)
    store.save_proxy_choices({"a.com": 2}, now=200)
    assert store.proxy_choices(["a.com", "b.com"], fresh_since=150) == {"a.com": 2}


def test_feeds_with_entries_come_in_code_point_order_and_clear_forgets_them(store):
    store.add_entries([entry(1, f) for f in ("voa", "BBC", "bbc", "_x")], pending=False)
    store.save_feeds([FeedState("voa")])
    assert store.feed_ids_with_entries() == ["BBC", "_x", "bbc", "voa"]  # as SQLite compares, whatever the locale
    assert store.published("voa") == [entry(1)["published"]] and len(list(store.all_entries())) == 4
    store.rebuilding()
    assert store.incomplete()
    store.clear()
    store.rebuilt()
    assert not store.incomplete() and store.count() == 0 and store.feeds() == {}


def test_a_postgresql_database_is_used_only_once_migrated(pg_url, tmp_path):
    with pytest.raises(StoreError, match=r"has schema 0 of \d+: run `newsmirror migrate`"):
        open_store(tmp_path, pg_url)
    assert migrate(tmp_path, pg_url) == (0, len(MIGRATIONS))
    assert migrate(tmp_path, pg_url) == (len(MIGRATIONS), len(MIGRATIONS))  # again: nothing to do
    open_store(tmp_path, pg_url).close()
    assert not (tmp_path / DB_NAME).exists()


def test_an_unreachable_postgresql_is_one_clear_error(tmp_path):
    with pytest.raises(StoreError, match="PostgreSQL database nothing: .*"):
        open_store(tmp_path, f"postgresql://nobody@/nothing?host={tmp_path}&port=1")


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


def test_guids_and_links_of_any_length_are_stored_and_found(store):
    long = "https://x/" + "长" * 3000  # past what a PostgreSQL b-tree entry may hold
    store.add_entries([entry(1, guid=long, link=long, canonical=long, title=long)])
    store.add_waiting([{"feed_id": "voa", "guid": long + "w", "canonical": long, "feed_hash": "s", "age": 1,
                        "wants_page": 1, "entry": "{}", "first_seen": 1, "body_key": None}])
    assert [r.number for r in store.known("voa", [keys(guid=long)])] == [1]
    assert [w.guid for w in store.known_waiting("voa", [keys(guid=long + "w")])] == [long + "w"]
    assert store.entry_by_link(long).number == 1


def test_one_dialect_table_turns_the_stores_sqlite_statements_into_postgresqls():
    from newsmirror.store.postgres import translate

    assert translate("SELECT x FROM entries WHERE feed_id = ? AND guid IN (SELECT value FROM json_each(?)) AND partial") == (
        "SELECT x FROM entries WHERE feed_id = %s AND guid = ANY(%s) AND partial <> 0", frozenset({1}))
    assert translate("INSERT OR REPLACE INTO proxy_hosts (host, template, checked) VALUES (?, ?, ?)")[0] == (
        "INSERT INTO proxy_hosts (host, template, checked) VALUES (%s, %s, %s)"
        " ON CONFLICT (host) DO UPDATE SET template = excluded.template, checked = excluded.checked")
    assert translate("INSERT INTO waiting (feed_id) VALUES (?)")[0] == "INSERT INTO waiting (feed_id) VALUES (%s) RETURNING id"
    assert translate("CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER, name TEXT)")[0] == (
        'CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at BIGINT, name TEXT COLLATE "C")')


def test_a_days_articles_and_the_sources_of_local_images_are_read_back(store):
    store.add_entries([entry(n, published=n * 10) for n in (1, 2, 3)], pending=False)
    rows, total = store.published_between(15, 40, limit=1)
    assert [r.number for r in rows] == [2] and total == 2
    assert store.published_between(100, 200, limit=5) == ([], 0)
    store.save_images([("https://i/1", "media/aa/1.jpg", None, 1), ("https://i/2", None, "404", 1)])
    assert store.image_sources(["media/aa/1.jpg", "media/bb/9.jpg"]) == {"media/aa/1.jpg": "https://i/1"}


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


def test_a_sqlite_trigger_becomes_a_plpgsql_function_and_a_row_trigger():
    from newsmirror.store.postgres import statements

    got = list(statements("CREATE TABLE t (x INTEGER);\nCREATE TRIGGER t_added AFTER INSERT ON entries BEGIN\n"
                          "    INSERT INTO t (x) VALUES (new.id); END\n"))
    assert got == ["CREATE TABLE t (x INTEGER)",
                   "CREATE FUNCTION t_added() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
                   "INSERT INTO t (x) VALUES (new.id); RETURN NULL; END $body$",
                   "CREATE TRIGGER t_added AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION t_added()"]
