"""Rebuilding the state database from the article files.

The files are the durable record: a stateless scheduled runner (CI) or a repository of the
original mirror is adopted by reading every `articles/<feed>/<n>.md` back into the database,
so that the next pass writes only what is missing and continues the numbering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import urls
from .archive import Archive
from .config import FEED_ID
from .identity import content_hash
from .render.markdown import read_article
from .store import Store


@dataclass
class ReindexReport:
    articles: dict[str, int] = field(default_factory=dict)  # per feed folder
    skipped: list[str] = field(default_factory=list)  # files that are not house-format articles


def reindex(archive: Archive, store: Store) -> ReindexReport:
    """Forget the database's entries and fetch state, then read them back from the files."""
    report = ReindexReport()
    store.clear()
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
            published, title, link, body = parsed
            from_page = body.startswith("<div><i>")  # the header block of an article built from its page
            rows.append({
                "feed_id": feed_id, "number": number, "guid": None, "link": link,
                "canonical": urls.canonical(link) if link else None, "title": title, "published": published,
                "first_seen": published, "body": body,
                # A page-built body depends on the extractor that built it: unknown ("") until this
                # newsmirror rebuilds it, so that another extractor's output never counts as an edit.
                "source_hash": "" if from_page else content_hash(body),
                "from_page": int(from_page), "partial": 0, "page_attempts": 0,
                "pending": 0, "removed_at": None, "feed_hash": None, "revised_at": None, "checked_at": None,
            })
        store.add_entries(rows)
        report.articles[feed_id] = len(rows)
    return report
