"""`newsmirror demo`: the whole mirror on a machine with no network.

Serves the bundled sample feeds (the golden VOA article as a full-text feed and as a
summary-only feed with its article page, and an Atom feed) on 127.0.0.1 and mirrors them into a
demo folder twice: a first day, then a second on which the Atom feed edits one article and takes
the other down, so that `history`, `diff`, the site's history pages and the removed marker have
something to show. The server is gone when the demo ends, so the folder's feeds are left
disabled (a `run` there says it has no enabled feed instead of failing every feed), and the demo says so,
with the commands to try next.
"""

from __future__ import annotations

import http.server
import shlex
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import config as configuration
from ..archive import Archive
from ..pipeline import run_pass
from ..store import Store
from ..takedowns import DAY

HERE = Path(__file__).resolve().parent
MARKER = ".newsmirror-demo"
FEEDS = (  # id, list title, file, full_text
    ("voa", "美国之音", "fulltext.xml", "auto"),
    ("voa-site", "美国之音（原网页）", "summary.xml", "auto"),
    ("atom", "Atom 示例", "atom.xml", "never"),
)
HEADER = """\
# Made by `newsmirror demo`. Its feeds were served on 127.0.0.1 while the demo ran and are
# disabled since: `run` here has no feed to fetch; `site`, `serve`, `history` and `diff` work.
# A mirror of your own: `newsmirror init --archive DIR`.
"""
SECOND_DAY: dict[str, str | None] = {"atom.xml": "atom-later.xml", "atom-1.html": None}  # one entry edited, one taken down (404)


class _Handler(http.server.BaseHTTPRequestHandler):
    """The bundled files (as on the second day once `later` is set); `__BASE__` in them becomes
    this server's address."""

    base = ""
    later = False

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.split("?")[0].lstrip("/")
        served = SECOND_DAY.get(name, name) if self.later else name
        path = HERE / served if served and "/" not in served else None
        if path is None or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes().replace(b"__BASE__", self.base.encode())
        kind = "application/xml; charset=utf-8" if path.suffix == ".xml" else "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve() -> Iterator[type[_Handler]]:
    """Serve the bundled files on 127.0.0.1; yields the handler class (its `base` URL, and
    `later` to serve the second day)."""
    handler: type[_Handler] = type("DemoHandler", (_Handler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def run_demo(directory: Path, say: Callable[[str], None]) -> Archive:
    """Build (or rebuild) the demo mirror in `directory`."""
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise FileExistsError(f"{directory} exists and is not a demo folder; choose another DIR")
    if directory.exists():
        shutil.rmtree(directory)  # the server's port changes between runs: start afresh
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by `newsmirror demo`; safe to delete\n", encoding="utf-8")
    archive = Archive(directory)
    archive.config_path.write_text(HEADER, encoding="utf-8")
    with serve() as server:
        for feed_id, title, name, full_text in FEEDS:
            configuration.add_feed(archive.config_path, feed_id, f"{server.base}/{name}", title)
            if full_text != "auto":
                configuration.set_feed_key(archive.config_path, feed_id, "full_text", full_text)
        archive.prepare()
        config = configuration.load(archive.config_path)
        say(f"Serving the sample feeds at {server.base}/ and mirroring them into {directory}/")
        with archive.lock():
            say(run_pass(archive, config, on_result=lambda r: say(r.line())).total(config.display.zone))
            _a_day_passes(archive, server.base)
            server.later = True
            say("A day later, the Atom feed has edited one article and taken the other down:")
            say(run_pass(archive, config, on_result=lambda r: say(r.line())).total(config.display.zone))
    for feed_id, *_ in FEEDS:  # the server is gone: a `run` here would fail every feed
        configuration.set_feed_key(archive.config_path, feed_id, "enabled", False)
    _tell(directory, archive, say)
    return archive


def _a_day_passes(archive: Archive, base: str) -> None:
    """Date the articles the demo's server answers for a day back, so that the second pass
    re-checks them for takedowns (an article is first re-checked an hour after it was archived).
    The full-text feed links the real VOA page, which an offline demo never fetches."""
    store = Store(archive.state_dir)
    try:
        for feed_id, *_ in FEEDS:
            for row in store.entries(feed_id):
                if row.link.startswith(f"{base}/"):
                    store.update_entry(row.id, first_seen=row.first_seen - DAY)
    finally:
        store.close()


def _tell(directory: Path, archive: Archive, say: Callable[[str], None]) -> None:
    """Where the results are, the commands to try next on real items, and what the folder is."""
    store = Store(archive.state_dir)
    try:
        rows = [row for feed_id, *_ in FEEDS for row in store.entries(feed_id)]
    finally:
        store.close()
    revised, removed = (next(f"{r.feed_id}/{r.number}" for r in rows if r.revised_at),
                        next(f"{r.feed_id}/{r.number}" for r in rows if r.removed_at))
    command = f"newsmirror --archive {shlex.quote(str(directory))}"
    steps = ((f"{command} site", f"the static site: {directory / 'site' / 'index.html'}"),
             (f"{command} serve", "read it in a browser, with search"),
             (f"{command} history {revised}", "the versions of the edited article"),
             (f"{command} diff {revised}", "what the edit changed"),
             (f"{command} history {removed}", "the article taken down"))
    width = max(len(step) for step, _ in steps)
    for line in (f"Articles: {directory / 'articles'}/<feed>/<n>.md",
                 f"Lists:    {directory / 'lists'}/",
                 f"README:   {directory / 'README.md'}",
                 "Next:",
                 *(f"  {step.ljust(width)}  # {why}" for step, why in steps),
                 "This folder is a one-off demonstration: its feeds were served by the demo and are now",
                 "disabled, so `run` here has nothing to fetch. A mirror of your own: `newsmirror init --archive DIR`."):
        say(line)
