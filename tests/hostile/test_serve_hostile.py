"""Hostile clients against `newsmirror serve`'s server: half-sent requests, dripped bodies, readers
that never read, paths spelled to leave the archive. A real uvicorn on 127.0.0.1, raw sockets,
short timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from newsmirror.archive import Archive
from newsmirror.web import create_app
from newsmirror.web.server import config

TIMEOUT = 0.5  # the request and write timeouts of the server under test


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def slow(request: Request) -> Response:
    await asyncio.sleep(2 * TIMEOUT)  # answering may take longer than the request took to arrive
    return PlainTextResponse("late but whole")


async def big(request: Request) -> Response:
    return Response(b"x" * (64 << 20))  # far more than the socket buffers hold


APP = Starlette(routes=[Route("/", hello), Route("/slow", slow), Route("/big", big)])
HEAD = b"GET / HTTP/1.1\r\nHost: reader\r\n\r\n"


@contextlib.contextmanager
def running(app: ASGIApp = APP) -> Iterator[tuple[uvicorn.Server, tuple[str, int]]]:
    """The reader's server in a thread, on a free port."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(config(app, "127.0.0.1", 0, request_timeout=TIMEOUT, write_timeout=TIMEOUT))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield server, sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def connect(address: tuple[str, int], send: bytes = b"") -> socket.socket:
    conn = socket.create_connection(address, timeout=5)
    conn.sendall(send)
    return conn


def closed_by_server(conn: socket.socket) -> bool:
    """True once the server has closed `conn` (whatever it sent before)."""
    try:
        while data := conn.recv(1 << 20):
            del data
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def answer(conn: socket.socket) -> bytes:
    """The body of one response, read by its Content-Length (the connection stays open)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])
    while len(body) < length:
        body += conn.recv(65536)
    return body


def test_half_sent_requests_are_closed_while_a_whole_one_is_answered():
    with running() as (server, address):
        start = time.monotonic()
        idle = [connect(address, b"GET / HTTP/1.1\r\nHost: reader\r\nX-Drip: ") for _ in range(50)]
        idle.append(connect(address))  # connected, says nothing
        with connect(address, HEAD) as reader:
            assert answer(reader) == b"hello"
        assert all(closed_by_server(conn) for conn in idle)
        assert time.monotonic() - start < TIMEOUT + 1.5
        assert not server.server_state.connections
        for conn in idle:
            conn.close()


def test_a_kept_alive_connection_must_send_its_next_request_in_time():
    """uvicorn's keep-alive timer stops at the first byte of the next request; ours does not."""
    with running() as (server, address), connect(address, HEAD) as conn:
        assert answer(conn) == b"hello"
        conn.sendall(HEAD)  # the same connection serves a second request
        assert answer(conn) == b"hello"
        conn.sendall(b"GET / HTTP/1.1\r\n")
        start = time.monotonic()
        assert closed_by_server(conn)
        assert TIMEOUT - 0.1 < time.monotonic() - start < TIMEOUT + 1.5


def test_a_dripped_body_is_cut_at_the_request_timeout():
    with running() as (server, address), connect(address, b"GET / HTTP/1.1\r\nHost: r\r\nContent-Length: 1000\r\n\r\n") as conn:
        for _ in range(int(4 * TIMEOUT / 0.1)):
            try:
                conn.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
        assert closed_by_server(conn)
        assert not server.server_state.connections


def test_a_slow_answer_to_a_whole_request_is_not_cut():
    with running() as (server, address), connect(address, b"GET /slow HTTP/1.1\r\nHost: reader\r\n\r\n") as conn:
        assert answer(conn) == b"late but whole"


def test_a_client_that_never_reads_is_dropped_at_the_write_timeout():
    with running() as (server, address), socket.socket() as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.connect(address)
        conn.sendall(b"GET /big HTTP/1.1\r\nHost: reader\r\n\r\n")
        start = time.monotonic()
        assert wait_for(lambda: server.server_state.connections, 2)
        assert wait_for(lambda: not server.server_state.connections, TIMEOUT + 3)
        assert time.monotonic() - start > TIMEOUT


def test_no_spelling_of_a_path_leaves_the_published_files(tmp_path):
    """Request targets as no client library sends them (dot segments, encoded slashes and dots,
    backslashes, NUL, a link inside the folder): only the site and the published files answer."""
    root = archive_holding_a_secret(tmp_path)
    targets = ["/../newsmirror.toml", "/%2e%2e/newsmirror.toml", "/%2E%2E%2Fnewsmirror.toml", "//newsmirror.toml",
               "/articles/..%2f..%2fnewsmirror.toml", "/site/..%2f..%2fnewsmirror.toml", "/articles/voa/link.md",
               "/articles/voa/..%5c..%5cnewsmirror.toml", "/newsmirror.toml%00.md", "/.newsmirror/archive.db",
               "/%2enewsmirror/archive.db", "/site/../.git/config", "/articles/voa/.identity.jsonl", "/newsmirror.toml"]
    with running(create_app(Archive(root))) as (server, address):
        for target in targets:
            status, body = request(address, target)
            assert status != 200 and b"SECRET" not in body, target
        assert request(address, "/") == (200, b"the site")
        assert request(address, "/articles/voa/1048574.md") == (200, b"an article")


def archive_holding_a_secret(tmp_path: Path) -> Path:
    root = tmp_path / "m"
    for rel, text in (("site/index.html", "the site"), ("articles/voa/1048574.md", "an article"),
                      ("articles/voa/.identity.jsonl", "SECRET"), ("newsmirror.toml", "proxy = 'http://u:SECRET@p'"),
                      (".newsmirror/archive.db", "SECRET"), (".git/config", "SECRET")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "articles/voa/link.md").symlink_to(root / "newsmirror.toml")
    return root


def request(address: tuple[str, int], target: str) -> tuple[int, bytes]:
    """The status and body of one raw GET of `target`, sent as it is."""
    with connect(address, f"GET {target} HTTP/1.1\r\nHost: reader\r\nConnection: close\r\n\r\n".encode()) as conn:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
