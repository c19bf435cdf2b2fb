"""The site `serve` serves, kept current: built again after each pass that changed the state.

A pass (`run`, the daemon, a cron job: any process) commits to the state database while it holds
the folder, and the site is built from that state. SQLite's `PRAGMA data_version` tells one
connection whether any other connection committed since it last asked, without reading any data:
asked once a second, it says when to build. The build waits for the folder to be free (the pass
has ended) and is incremental; each page is written to a temporary file renamed over the old one,
so a reader gets the old page or the new one, never half of one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

from .. import failures
from ..archive import Archive, ArchiveLocked
from ..config import load
from ..render import site
from ..store import DB_NAME, Store

POLL = 1.0  # seconds between two looks at the state: a pass is on the site this long after it ends
STOP = 10.0  # seconds a build in progress may take to end when serve stops


class SiteKeeper:
    """Builds an archive's site, and again whenever another process committed to its state."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.state: sqlite3.Connection | None = None  # only asked for data_version, never written
        self.seen = -1  # data_version when the site was last built

    def build(self, wait: float = 0) -> int:
        """Build the site holding the folder (ArchiveLocked when a pass holds it past `wait`
        seconds); how many files changed."""
        with self.archive.lock(wait), closing(Store(self.archive.state_dir)) as store:
            changed = site.build(self.archive, load(self.archive.config_path), store)
            self.seen = self._version()  # read after: no pass commits while the folder is held
        return changed

    def stale(self) -> bool:
        """Whether a process committed to the state since the site was built."""
        return self._version() != self.seen

    def _version(self) -> int:
        if self.state is None:  # one connection: data_version compares commits with its own past
            self.state = sqlite3.connect(self.archive.state_dir / DB_NAME, isolation_level=None,
                                         check_same_thread=False)  # the keeper's thread asks after serve's
        version: int = self.state.execute("PRAGMA data_version").fetchone()[0]
        return version

    @contextmanager
    def kept(self, report: Callable[[str], None], poll: float = POLL) -> Iterator[None]:
        """While the block runs, build the site again after each pass (on a thread of its own);
        a build that fails is reported in one line, and tried again after the next pass."""
        stop = threading.Event()
        thread = threading.Thread(target=self._keep, args=(stop, poll, report), name="site", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(STOP)
            if self.state is not None and not thread.is_alive():
                self.state.close()

    def _keep(self, stop: threading.Event, poll: float, report: Callable[[str], None]) -> None:
        while not stop.wait(poll):
            if not self.stale():
                continue
            try:
                self.build()
            except ArchiveLocked:
                continue  # the pass still holds the folder: built once it has ended
            except Exception as exc:  # noqa: BLE001 (a configuration error, a full disk: serve goes on)
                self.seen = self._version()
                report(f"site not rebuilt after a pass: {failures.reason(exc)}")
