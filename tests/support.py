"""Test helpers: a local HTTP server on 127.0.0.1, the command line in-process, feed builders.

Tests never touch the internet: feeds and pages are served by `Site`.
"""

from __future__ import annotations

import gzip
import http.server
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from newsmirror.cli import app

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    gzip: bool = False


class Site:
    """Routes served on 127.0.0.1; `__BASE__` in bodies becomes the server's address."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.connections: set[int] = set()  # client ports: one per connection opened to this site
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.hits[self.path] += 1
                site.connections.add(self.client_address[1])
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                if route is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                if route.delay:
                    time.sleep(route.delay)
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", {"ETag": etag})
                    return
                body = route.body.replace(b"__BASE__", site.base.encode())
                headers = dict(route.headers)
                if route.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self._send(route.status, body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str, status: int = 200, content_type: str = "application/rss+xml; charset=utf-8",
            **kwargs: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}  # type: ignore[arg-type]
        self.routes[path] = Route(data, status, headers, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Run:
    code: int
    out: str
    err: str


def newsmirror(*args: str | Path) -> Run:
    """Run the command line in-process, as a user would type it."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def earlier_mirror(tmp_path: Path, feed_url: str) -> Path:
    """A bare repository on `master` holding what the original mirror archived from `feed_url`
    as feed `voa` (its files only: no state, no identity index)."""
    earlier, remote = tmp_path / "earlier", tmp_path / "news.git"
    newsmirror("--archive", earlier, "add", feed_url, "--id", "voa", "--title", "美国之音")
    assert newsmirror("--archive", earlier, "run").code == 0
    (earlier / "articles/voa/.identity.jsonl").unlink()
    subprocess.run(["git", "init", "-q", "--bare", "-b", "master", str(remote)], check=True)
    for command in (["init", "-q", "-b", "master"], ["add", "-A"], ["-c", "user.name=earlier", "-c", "user.email=e@x",
                    "commit", "-qm", "the mirror so far"], ["push", "-q", str(remote), "master"]):
        subprocess.run(["git", "-C", str(earlier), *command], check=True, capture_output=True)
    return remote


def articles(repository: Path, branch: str = "master") -> dict[str, bytes]:
    """Every article file (`articles/<feed>/<n>.md`) on `branch` of a git repository, with its bytes."""
    def git(*args: str) -> bytes:
        return subprocess.run(["git", "-C", str(repository), *args], check=True, capture_output=True).stdout

    names = git("ls-tree", "-r", "--name-only", branch, "articles").decode().split()
    return {name: git("show", f"{branch}:{name}") for name in names if name.endswith(".md")}


def rss(*items: str, title: str = "测试源") -> str:
    """An RSS 2.0 document around `items`."""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>{title}</title><link>__BASE__/</link>{''.join(items)}</channel></rss>")


def item(n: int | str, date: str | None = "Tue, 07 May 2024 21:39:03 GMT", body: str | None = None,
         guid: str | None = None, link: str | None = None, title: str | None = None) -> str:
    """One RSS item with a long enough body to count as full text."""
    body = body if body is not None else "".join(f"<p>第{n}篇文章的第{i}段。这是一个完整的句子。</p>" for i in range(12))
    parts = [f"<title>{title or f'文章{n}'}</title>", f"<link>{link or f'__BASE__/a/{n}.html'}</link>",
             f"<guid>{guid or f'guid-{n}'}</guid>", f"<description><![CDATA[{body}]]></description>"]
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + "</item>"
