"""The search index kept up during a pass: articles are indexed on a thread as soon as their files
are written, while the pass goes on fetching and parsing, instead of all of them at its end.

Most of indexing is SQLite's FTS5 inserting tokens, during which Python's GIL is released: the
thread uses a core the pass leaves idle while it waits for the network and its workers, and the
pass ends with what little the thread has not yet done. What the thread could not index (it
failed, or the index needs rebuilding first) is left to the end of the pass, which indexes as
before (`pipeline.index`): this is a head start, never the only way in.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .store import EntryRow

BATCH = 1000  # articles a transaction at most: below search._POOL_MIN, the thread never forks a pool


class Indexer:
    """Index the articles handed to `add` on a thread of its own; `close` waits for it.

    `fresh`: the state held no article when the pass began. An empty index is then one to fill as
    articles come; otherwise an empty index (new, or emptied for another scheme) must be rebuilt
    whole from the archive, which the end of the pass does, and the thread leaves it alone.
    """

    def __init__(self, state_dir: Path, fresh: bool = False, url: str | None = None):
        self.state_dir = state_dir
        self.url = url  # [store] url: the index is PostgreSQL's then (search.open_search)
        self.fresh = fresh
        self.indexed: list[int] = []  # entry ids now in the index
        self.error: Exception | None = None
        self._queue: queue.SimpleQueue[list[EntryRow] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._off = False

    def add(self, rows: Sequence[EntryRow]) -> None:
        """Index these written articles, soon; the caller goes on at once."""
        if not rows or self._off:
            return
        if self._thread is None:  # started with the first article: a pass with nothing new loads nothing
            self._thread = threading.Thread(target=self._run, name="newsmirror-index", daemon=True)
            self._thread.start()
        self._queue.put(list(rows))

    def close(self) -> list[int]:
        """Wait for the thread to index what it was given; the entry ids it indexed."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        return self.indexed

    def _run(self) -> None:
        from .search import Doc, open_search  # opencc: loaded only when something is indexed

        try:
            with open_search(self.state_dir, self.url) as index:
                if not self.fresh and index.empty():
                    self._off = True
                    return
                for batch in self._batches():
                    for start in range(0, len(batch), BATCH):
                        part = batch[start:start + BATCH]
                        index.add(Doc(r.feed_id, r.number, r.title, r.link, r.published, r.body) for r in part)
                        self.indexed.extend(r.id for r in part)
        except Exception as exc:  # noqa: BLE001  left to the end of the pass, which reports it
            self.error = exc
            self._off = True

    def _batches(self) -> Iterator[list[EntryRow]]:
        """All that waits, together (one transaction for many articles), until `close`."""
        ended = False
        while not ended:
            batch: list[EntryRow] = []
            item = self._queue.get()
            while True:
                if item is None:
                    ended = True
                    break
                batch.extend(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch
