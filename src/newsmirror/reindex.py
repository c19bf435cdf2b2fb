"""Rebuilding the state database from the article files.

The files are the durable record: a stateless scheduled runner (CI) or a repository of the
original mirror is adopted by reading every `articles/<feed>/<n>.md` back into the database,
so that the next pass writes only what is missing and continues the numbering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import re
import sqlite3
import time
from pathlib import Path

from . import git, identity_index, urls
from .archive import Archive
from .config import FEED_ID
from .clean import clean
from .decide import FileIdentity, adopted_keys
from .identity import content_hash
from .model import NewEntry, new_entry
from .pipeline import index
from .render.markdown import read_article
from .store import DB_NAME, SEARCH_DB, Store, StoreError


@dataclass
class ReindexReport:
    articles: dict[str, int] = field(default_factory=dict)  # per feed folder
    skipped: list[str] = field(default_factory=list)  # files that are not house-format articles
    revisions: int = 0  # earlier versions read back from git history


def open_state(archive: Archive) -> tuple[Store, Path | None]:
    """The state database to rebuild, and where a damaged one was moved (None when it was
    sound). Whatever the damage, reindex can run: the files are the record, and the broken
    database is kept aside rather than deleted."""
    try:
        store = Store(archive.state_dir)
    except StoreError:
        pass
    else:
        try:
            if store.sound():
                return store, None
        except sqlite3.DatabaseError:
            pass
        store.close()
    moved = archive.state_dir / f"{DB_NAME}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    (archive.state_dir / DB_NAME).replace(moved)
    for suffix in ("-wal", "-shm"):
        (archive.state_dir / (DB_NAME + suffix)).unlink(missing_ok=True)
    return Store(archive.state_dir), moved


def reindex(archive: Archive, store: Store) -> ReindexReport:
    """Forget the database's entries and fetch state, then read them back from the files (the
    search index is built anew: derived data, and perhaps as damaged as the state was)."""
    report = ReindexReport()
    store.clear()
    for suffix in ("", "-wal", "-shm"):
        (archive.state_dir / (SEARCH_DB + suffix)).unlink(missing_ok=True)
    for feed_id in archive.feed_folders():
        if not FEED_ID.match(feed_id):
            report.skipped.append(f"articles/{feed_id}/ (not a valid feed id)")
            continue
        rows = []
        for number, path in sorted(archive.numbers_on_disk(feed_id).items(), reverse=True):
            try:
                parsed = read_article(path.read_text(encoding="utf-8", errors="replace"))
            except OSError as exc:
                report.skipped.append(f"{path.relative_to(archive.root)} ({exc.strerror})")
                continue
            if parsed is None:
                report.skipped.append(f"{path.relative_to(archive.root)} (not in the house format)")
                continue
            published, title, link, raw_body = parsed
            # Files of the original mirror (or of anyone with push access) were never sanitized
            # here: the site and the feeds out show the body as HTML, so it is cleaned like a feed's.
            body = clean(raw_body)
            from_page = body.startswith("<div><i>")  # the header block of an article built from its page
            rows.append(new_entry(
                feed_id, number, title=title, link=link, canonical=urls.canonical(link) if link else None,
                published=published, first_seen=published, body=body,
                # A page-built body depends on the extractor that built it: unknown ("") until this
                # newsmirror rebuilds it, so that another extractor's output never counts as an edit.
                source_hash="" if from_page else content_hash(body), from_page=from_page))
        _identify(rows, identity_index.read(archive.feed_folder(feed_id)))
        store.add_entries(rows, pending=False)  # type: ignore[arg-type]  # read from their files; NewEntry is a dict
        report.articles[feed_id] = len(rows)
    if git.is_repository(archive.root):
        try:
            report.revisions = _revisions_from_git(archive, store)
        except git.GitError as exc:
            report.skipped.append(f"git history ({exc})")
    index(archive, (), rebuild=True)
    return report


def _identify(rows: list[NewEntry], known: dict[int, identity_index.Line]) -> None:
    """Give rows read back from files the identity the lost state had (the identity index), or
    the rule for files without one (decide.adopted_keys)."""
    files = [FileIdentity(r["number"], r["canonical"], *known.get(r["number"], (None, None, None)),
                          indexed=r["number"] in known) for r in rows]
    decided = adopted_keys(files)
    for r in rows:
        r["guid"], r["body_key"], said, r["adopted"] = decided[r["number"]]
        if said is not None:
            r["feed_hash"] = said  # what the feed said when the file was written, as the state had it


def _revisions_from_git(archive: Archive, store: Store) -> int:
    """Earlier versions of every article file that git saw change, as revisions."""
    rows = []
    for path, versions in git.file_versions(archive.root, "articles").items():
        parts = path.split("/")
        m = re.match(r"^(\d+)(?:_.*)?\.md$", parts[-1]) if len(parts) == 3 else None
        entry = store.entry(parts[1], int(m.group(1))) if m else None
        if entry is None:
            continue
        texts = [(when, read_article(text)) for when, text in versions]
        texts = [(when, a) for when, a in texts if a is not None]
        # One revision per content change; the last version is the file as it is now (the entry).
        changes = [pair for i, pair in enumerate(texts) if i == 0 or pair[1][1:] != texts[i - 1][1][1:]]
        for (seen, (_, title, _, body)), (replaced, _) in zip(changes, changes[1:]):
            rows.append((entry.id, seen, replaced, title, body))
        if changes:
            store.update_entry(entry.id, revised_at=changes[-1][0], first_seen=min(entry.first_seen, changes[0][0]))
    store.add_revisions(rows)
    return len(rows)
