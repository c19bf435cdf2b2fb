"""The schema, as numbered migrations; `PRAGMA user_version` holds how many have run.

Never edit a migration that has shipped: add the next one, with a comment saying why.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: feeds with their fetch state, and entries (one row per archived article file).
    """
    CREATE TABLE feeds (
        id            TEXT PRIMARY KEY,      -- the folder id, articles/<id>/
        url           TEXT,
        title         TEXT,                  -- the feed's own title, as last fetched
        etag          TEXT,
        last_modified TEXT,
        body_hash     TEXT,                  -- of the last feed document: skip parsing when equal
        last_attempt  INTEGER,               -- ms since the epoch
        last_success  INTEGER,
        last_error    TEXT,
        errors        INTEGER NOT NULL DEFAULT 0,   -- consecutive failures
        next_attempt  INTEGER,               -- back-off / Retry-After / ttl: not before this
        disabled      TEXT                   -- why the feed is no longer fetched (HTTP 410)
    );
    CREATE TABLE entries (
        id            INTEGER PRIMARY KEY,
        feed_id       TEXT NOT NULL,
        number        INTEGER NOT NULL,      -- articles/<feed_id>/<number>.md
        guid          TEXT,
        link          TEXT NOT NULL DEFAULT '',
        canonical     TEXT,                  -- urls.canonical(link): the identity when guids change
        title         TEXT NOT NULL,
        published     INTEGER NOT NULL,      -- ms; the house format's <!--T-->
        first_seen    INTEGER NOT NULL,
        body          TEXT NOT NULL,         -- the cleaned body, as written
        source_hash   TEXT NOT NULL,         -- of the normalized source title + text
        from_page     INTEGER NOT NULL DEFAULT 0,   -- body extracted from the article page
        partial       INTEGER NOT NULL DEFAULT 0,   -- page wanted but not had yet
        page_attempts INTEGER NOT NULL DEFAULT 0,
        pending       INTEGER NOT NULL DEFAULT 1,   -- stored but its file not yet written
        removed_at    INTEGER,               -- the source took it down
        UNIQUE (feed_id, number)
    );
    CREATE INDEX entries_guid ON entries (feed_id, guid);
    CREATE INDEX entries_canonical ON entries (feed_id, canonical);
    CREATE INDEX entries_pending ON entries (pending) WHERE pending;
    """,
    # 2: scheduling. The shortest interval the feed itself asks for (RSS <ttl>, Cache-Control
    # max-age), so that the daemon never polls faster than a publisher wants.
    """
    ALTER TABLE feeds ADD COLUMN min_interval INTEGER;
    """,
    # 3: local image copies (images.mode = "local"): each image downloaded once, content-addressed.
    """
    CREATE TABLE images (
        url     TEXT PRIMARY KEY,
        path    TEXT,                        -- media/<aa>/<sha256>.<ext>, relative to the archive; NULL if it failed
        error   TEXT,
        fetched INTEGER NOT NULL
    );
    """,
    # 4: an archive that remembers. Earlier versions of an edited article (the entry holds the
    # latest), a cheap hash of what the feed said (to notice edits without cleaning), takedown
    # checks, and articles a feed shares with another feed of the mirror (dedupe = "mirror").
    """
    ALTER TABLE entries ADD COLUMN feed_hash TEXT;
    ALTER TABLE entries ADD COLUMN revised_at INTEGER;
    ALTER TABLE entries ADD COLUMN checked_at INTEGER;
    CREATE INDEX entries_feed_hash ON entries (feed_hash);
    CREATE INDEX entries_canonical_any ON entries (canonical);
    CREATE TABLE revisions (
        id          INTEGER PRIMARY KEY,
        entry_id    INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
        seen_at     INTEGER NOT NULL,        -- when this version was first seen
        replaced_at INTEGER NOT NULL,        -- when the next one was
        title       TEXT NOT NULL,
        body        TEXT NOT NULL
    );
    CREATE INDEX revisions_entry ON revisions (entry_id, seen_at);
    CREATE TABLE shared (
        feed_id     TEXT NOT NULL,           -- this feed carries...
        entry_id    INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,   -- ...another feed's article
        first_seen  INTEGER NOT NULL,
        PRIMARY KEY (feed_id, entry_id)
    );
    """,
    # 5: which image proxy template serves each image host (images.fallbacks): a proxy that
    # refuses a host is probed once, not on every article.
    """
    CREATE TABLE proxy_hosts (
        host     TEXT PRIMARY KEY,
        template INTEGER NOT NULL,           -- 0: images.proxy, n: images.fallbacks[n - 1]
        checked  INTEGER NOT NULL
    );
    """,
    # 6: what a feed's list and re-published feeds were last rendered with (title, script,
    # marker...): a pass with nothing new renders them again only when that changed.
    """
    ALTER TABLE feeds ADD COLUMN rendered TEXT;
    """,
    # 7: list pages read an index, not the rows: a row's later columns sit past its body in
    # overflow pages, and reading them for 300 rows a feed cost more than rendering the list.
    """
    CREATE INDEX entries_list ON entries (feed_id, number, first_seen, published, removed_at, title, link);
    """,
    # 8: two look-ups every pass makes that scanned the whole table: a feed's partial articles
    # (retried each pass) and the mirror's newest articles (feeds/all.*).
    """
    CREATE INDEX entries_partial ON entries (feed_id) WHERE partial;
    CREATE INDEX entries_newest ON entries (first_seen, number);
    """,
    # 9: articles stored but not yet written to their files live in a table of their own:
    # marking 10,000 articles written rewrote 10,000 rows with their bodies (the `pending`
    # column sat past the body, in overflow pages), and finding one feed's read all its rows.
    # The `pending` column stays, unread: dropping it would rewrite the whole table (and needs
    # SQLite 3.35, newer than some systems' Python has).
    """
    CREATE TABLE unwritten (
        entry_id INTEGER PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
        feed_id  TEXT NOT NULL
    );
    CREATE INDEX unwritten_feed ON unwritten (feed_id);
    INSERT INTO unwritten (entry_id, feed_id) SELECT id, feed_id FROM entries WHERE pending;
    DROP INDEX entries_pending
    """,
    # 10: entries a feed gave that wait for a later pass: more new items than one pass takes
    # ([limits] max_items) or more pages than it fetches (max_pages). Kept as the feed gave them,
    # so that an item is never lost when the feed drops it before its turn; completed oldest first.
    """
    CREATE TABLE waiting (
        id         INTEGER PRIMARY KEY,      -- with age, the order of completion
        feed_id    TEXT NOT NULL,
        guid       TEXT,
        canonical  TEXT,
        feed_hash  TEXT,
        age        INTEGER NOT NULL,         -- published, else first seen (ms)
        wants_page INTEGER NOT NULL,
        entry      TEXT NOT NULL,            -- JSON: the entry as parsed (ParsedEntry's fields)
        first_seen INTEGER NOT NULL
    );
    CREATE INDEX waiting_order ON waiting (feed_id, age, id);
    CREATE INDEX waiting_guid ON waiting (feed_id, guid);
    CREATE INDEX waiting_canonical ON waiting (feed_id, canonical);
    CREATE INDEX waiting_feed_hash ON waiting (feed_id, feed_hash)
    """,
    # 11: the identity rule (decide.py): two entries with different guids are one story only
    # when both carry the same full body, so that key is kept; and articles read back from files
    # without newsmirror's identity index have an unknown guid (`adopted`: 1 identified by their
    # link, 2 by title and date), not a missing one.
    # Rows stored before have no body key: they are twins of nothing.
    """
    ALTER TABLE entries ADD COLUMN body_key TEXT;
    ALTER TABLE entries ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE waiting ADD COLUMN body_key TEXT;
    CREATE INDEX entries_body_key ON entries (body_key) WHERE body_key IS NOT NULL;
    CREATE INDEX entries_adopted ON entries (feed_id, published) WHERE adopted = 2;
    CREATE INDEX waiting_body_key ON waiting (feed_id, body_key) WHERE body_key IS NOT NULL
    """,
    # 12: changes to an article that were not kept as revisions (revisions.py: volatile parts
    # only, a flip back to a stored version, over the revisions a day), counted per article and
    # reason for `history`. `last_hash` is the content hash of the last one: a change held back
    # over the limit is compared again on later passes, and counted once.
    """
    CREATE TABLE suppressed (
        entry_id  INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
        reason    TEXT NOT NULL,             -- "volatile", "flip" or "limit"
        count     INTEGER NOT NULL,
        last_at   INTEGER NOT NULL,          -- ms
        last_hash TEXT NOT NULL,
        PRIMARY KEY (entry_id, reason)
    )
    """,
    # 13: re-published feeds hold the newest articles by date, not the last stored (a feed
    # backfilled with old items pushed the new ones out): read in date order from an index, so
    # a pass reads the few rows it re-publishes, never the whole archive. Ties go by number
    # (within a feed, the one stored later first). `entries_newest` (by time stored) served
    # feeds/all.* alone.
    """
    CREATE INDEX entries_dated ON entries (feed_id, published DESC, number);
    CREATE INDEX entries_all_dated ON entries (published DESC, feed_id, number);
    DROP INDEX entries_newest
    """,
    # 14: the takedown checks a pass plans (the least recently checked of the last `takedown_days`)
    # read every article of every feed, bodies and all, to filter on when each was stored: seconds
    # a pass at 1,000,000 articles (bench/growth.py). They now read this index over the window
    # only; it holds every column the choice tests (a partial index's own condition still made
    # SQLite 3.40 read each row).
    """
    CREATE INDEX entries_recheck ON entries (feed_id, first_seen, checked_at, removed_at, link)
    """,
    # 15: the site read every article's body on every build to tell which pages changed: 45 s at
    # 100,000 articles. Each entry now carries a change number, from one sequence that only grows,
    # set whenever what the site shows of it changes (added; title, link, date, body or takedown
    # updated): the number stands for the body in a page's inputs, so bodies are read only for
    # the pages rendered. A table of its own, not a column: a column sits past the body, and
    # setting it rewrote the whole row (migration 9). Rows of deleted entries stay, so that the
    # sequence never goes back (reindex deletes every entry and reuses their ids); a deletion
    # gives the row of id 0 (no entry's) a number, which tells the site to build every page.
    """
    CREATE TABLE entry_changes (
        entry_id INTEGER PRIMARY KEY,
        changed  INTEGER NOT NULL
    );
    CREATE INDEX entry_changes_order ON entry_changes (changed);
    CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN
        INSERT INTO entry_changes (entry_id, changed) VALUES (new.id, (SELECT coalesce(max(changed), 0) + 1 FROM entry_changes))
        ON CONFLICT (entry_id) DO UPDATE SET changed = excluded.changed; END;
    CREATE TRIGGER entries_changed AFTER UPDATE OF title, link, published, body, removed_at ON entries BEGIN
        INSERT INTO entry_changes (entry_id, changed) VALUES (new.id, (SELECT coalesce(max(changed), 0) + 1 FROM entry_changes))
        ON CONFLICT (entry_id) DO UPDATE SET changed = excluded.changed; END;
    CREATE TRIGGER entries_deleted AFTER DELETE ON entries BEGIN
        INSERT INTO entry_changes (entry_id, changed) VALUES (0, (SELECT coalesce(max(changed), 0) + 1 FROM entry_changes))
        ON CONFLICT (entry_id) DO UPDATE SET changed = excluded.changed; END
    """,
)
