"""`newsmirror demo`: the whole mirror on a machine with no network.

Serves the bundled sample feeds (the golden VOA article as a full-text feed and as a
summary-only feed with its article page, and an Atom feed) on 127.0.0.1, mirrors them into a
demo folder, and says where the results are.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import config as configuration
from ..archive import Archive
from ..pipeline import run_pass

HERE = Path(__file__).resolve().parent
MARKER = ".newsmirror-demo"
FEEDS = (  # id, list title, file, full_text
    ("voa", "美国之音", "fulltext.xml", "auto"),
    ("voa-site", "美国之音（原网页）", "summary.xml", "auto"),
    ("atom", "Atom 示例", "atom.xml", "never"),
)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The bundled files; `__BASE__` in them becomes this server's address."""

    base = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
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
def serve() -> Iterator[str]:
    """Serve the bundled files on 127.0.0.1; yields the base URL."""
    handler: type[_Handler] = type("DemoHandler", (_Handler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(HERE)))
    handler.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler.base
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
    with serve() as base:
        for feed_id, title, name, full_text in FEEDS:
            configuration.add_feed(archive.config_path, feed_id, f"{base}/{name}", title)
            if full_text != "auto":
                configuration.set_feed_key(archive.config_path, feed_id, "full_text", full_text)
        archive.prepare()
        config = configuration.load(archive.config_path)
        say(f"Serving the sample feeds at {base}/ and mirroring them into {directory}/")
        with archive.lock():
            report = run_pass(archive, config, on_result=lambda r: say(r.line()))
    say(report.total())
    say(f"Articles: {directory / 'articles'}/<feed>/<n>.md")
    say(f"Lists:    {directory / 'lists'}/")
    say(f"README:   {directory / 'README.md'}")
    return archive
