"""Rebuilding the state database from the article files.

The files are the durable record: a stateless scheduled runner (CI) or a repository of the
original mirror is adopted by reading every `articles/<feed>/<n>.md` back into the database,
so that the next pass writes only what is missing and continues the numbering.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import git, identity_index, tombstones, urls
from .archive import FIRST_NUMBER, Archive, article_number
from .clean import clean
from .config import FEED_ID
from .decide import FileIdentity, adopted_keys
from .identity import content_hash
from .model import NewEntry, new_entry
from .pipeline import index
from .render.markdown import read_article
from .store import DB_NAME, SEARCH_DB, Store, StoreError, open_store


@dataclass
class ReindexReport:
    articles: dict[str, int] = field(default_factory=dict)  # per feed folder
    skipped: list[str] = field(default_factory=list)  # "<path> (<why>)": every file not read as an article
    revisions: int = 0  # earlier versions read back from git history
    history: str = ""  # why there are no revisions from git history ("" when it was read)


def open_state(archive: Archive, url: str | None = None) -> tuple[Store, Path | None]:
    """The state database to rebuild, and where a damaged one was moved (None when it was
    sound). Whatever the damage, reindex can run: the files are the record, and the broken
    database is kept aside rather than deleted. A PostgreSQL one ([store] url) is the server's
    to keep whole: it is rebuilt as it is."""
    if url is not None:
        return open_store(archive.state_dir, url), None
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
    search index is built anew: derived data, and perhaps as damaged as the state was).

    Every file that is not read as an article is reported with the reason. One whose header
    reads (a second file with an article's number, a name without one) holds a story the feed
    may bring again: unless a file read holds its link, it is recorded under a new number, so
    that the next pass recognizes it instead of archiving it a second time.

    The state counts as incomplete until the end (a rebuild killed half-way is done again)."""
    report = ReindexReport()
    store.rebuilding()
    store.clear()
    for suffix in ("", "-wal", "-shm"):
        (archive.state_dir / (SEARCH_DB + suffix)).unlink(missing_ok=True)
    folder = archive.root / "articles"
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not path.is_dir():
            report.skipped.append(_skipped(archive, path, "not in a feed folder"))
    read: dict[str, tuple[str, int]] = {}  # path of each file read: (feed, number), for its git history
    redacted = tombstones.read(archive.root).numbers
    for feed_id in archive.feed_folders():
        if not FEED_ID.match(feed_id):
            report.skipped.append(_skipped(archive, folder / feed_id, "not a valid feed id"))
            continue
        found, others = archive.scan(feed_id)
        rows = []
        for number, path in sorted(found.items(), reverse=True):
            if (feed_id, number) in redacted:  # a copy put back by hand: removed on request, never read back
                report.skipped.append(_skipped(archive, path, f"redacted (see {tombstones.NAME})"))
                continue
            parsed, problem = _read(path)
            if parsed is None:
                report.skipped.append(_skipped(archive, path, problem))
                continue
            rows.append(_row(feed_id, number, parsed))
            read[path.relative_to(archive.root).as_posix()] = (feed_id, number)
        report.articles[feed_id] = len(rows)
        known = {r["canonical"] for r in rows}
        number = min(found, default=FIRST_NUMBER + 1)
        for path, reason in sorted(others):
            parsed = _read(path)[0] if path.is_file() else None
            canonical = urls.canonical(parsed[2]) if parsed and parsed[2] else None
            if parsed and canonical not in known:
                number -= 1
                rows.append(_row(feed_id, number, parsed))
                known.add(canonical)
                reason += f"; its story is recorded as {feed_id}/{number}, so the feed does not archive it again"
            report.skipped.append(_skipped(archive, path, reason))
        _identify(rows, identity_index.read(archive.feed_folder(feed_id)))
        store.add_entries(rows, pending=False)  # read from their files
    if not git.is_repository(archive.root):
        report.history = "not a git repository"
    else:
        try:
            report.revisions = _revisions_from_git(archive, store, read)
        except git.GitError as exc:
            report.history = str(exc)
    index(archive, (), rebuild=True, url=store.url)
    store.rebuilt()
    return report


def _read(path: Path) -> tuple[tuple[int, str, str, str] | None, str]:
    """A file's (T, title, link, body), or None and why not. Bytes decoded as they are (a
    title's carriage return is the title's; read_article knows CRLF files)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        return None, exc.strerror or str(exc)
    parsed = read_article(text)
    return parsed, "" if parsed else "not in the house format"


def _row(feed_id: str, number: int, parsed: tuple[int, str, str, str]) -> NewEntry:
    """The entry a file holds, as `Store.add_entries` takes it."""
    published, title, link, raw_body = parsed
    # Files of the original mirror (or of anyone with push access) were never sanitized
    # here: the site and the feeds out show the body as HTML, so it is cleaned like a feed's.
    body = clean(raw_body)
    from_page = body.startswith("<div><i>")  # the header block of an article built from its page
    return new_entry(
        feed_id, number, title=title, link=link, canonical=urls.canonical(link) if link else None,
        published=published, first_seen=published, body=body,
        # A page-built body depends on the extractor that built it: unknown ("") until this
        # newsmirror rebuilds it, so that another extractor's output never counts as an edit.
        source_hash="" if from_page else content_hash(body), from_page=from_page)


def _skipped(archive: Archive, path: Path, reason: str) -> str:
    """`path (reason)` on one line: a file name's control characters (line breaks) escaped."""
    shown = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", path.relative_to(archive.root).as_posix())
    return f"{shown} ({reason})"


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


def _article_of(archive: Archive, read: dict[str, tuple[str, int]], path: str) -> tuple[str, int] | None:
    """(feed, number) of the article a path in git's history held: a file read, or by its number
    a file since deleted (the original mirror renamed `<n>_<title>.md` files to `<n>.md`); never
    a file that is there and was skipped."""
    if path in read:
        return read[path]
    parts = path.split("/")
    number = article_number(parts[-1]) if len(parts) == 3 and not (archive.root / path).exists() else None
    return (parts[1], number) if number is not None else None


def _revisions_from_git(archive: Archive, store: Store, read: dict[str, tuple[str, int]]) -> int:
    """Earlier versions of every article file read that git saw change, as revisions."""
    rows = []
    for path, versions in git.file_versions(archive.root, "articles").items():
        key = _article_of(archive, read, path)
        entry = store.entry(*key) if key else None
        if entry is None:
            continue
        texts = [(when, a) for when, text in versions if (a := read_article(text)) is not None]
        # One revision per content change; the last version is the file as it is now (the entry).
        changes = [pair for i, pair in enumerate(texts) if i == 0 or pair[1][1:] != texts[i - 1][1][1:]]
        for (seen, (_, title, _, body)), (replaced, _) in itertools.pairwise(changes):
            rows.append((entry.id, seen, replaced, title, body))
        if changes:
            store.update_entry(entry.id, revised_at=changes[-1][0], first_seen=min(entry.first_seen, changes[0][0]))
    store.add_revisions(rows)
    return len(rows)
