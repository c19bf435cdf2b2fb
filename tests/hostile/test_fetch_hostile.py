"""A hostile server against `Fetcher.get`: compression bombs, endless bodies and headers, slow drips.

Each fetch runs in a fresh process, because peak memory (`ru_maxrss`) is per process and only ever
grows: measured here, it would show whatever an earlier test peaked at. The child also runs a
healthy request alongside and watches how long the event loop stalls, and its address space is
capped, so that a regression fails the test instead of taking the machine down.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import multiprocessing
import resource
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import brotli
import pytest

from newsmirror.config import FetchSettings
from newsmirror.fetch import Fetcher, FetchError

MiB = 1 << 20
LIMIT = 16 * MiB  # the default max_feed_bytes and max_image_bytes
BOMB = 1024  # MiB of zeros each bomb decodes to


@functools.cache
def raw_deflate_zeros() -> bytes:
    """BOMB MiB of zeros as raw deflate, in ~1 MB: after a full flush each MiB compresses to the same
    bytes, so one is compressed and repeated (compressing a GiB would take seconds)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = c.compress(b"\0" * MiB) + c.flush(zlib.Z_FULL_FLUSH)
    return block * BOMB + c.flush()


@functools.cache
def gzip_zeros() -> bytes:
    crc = functools.reduce(lambda crc, _: zlib.crc32(b"\0" * MiB, crc), range(BOMB), 0)
    return b"\x1f\x8b\x08\0\0\0\0\0\x02\xff" + raw_deflate_zeros() + struct.pack("<II", crc, (BOMB * MiB) & 0xFFFFFFFF)


def zlib_zeros() -> bytes:
    adler = ((BOMB * MiB) % 65521) << 16 | 1  # Adler-32 of n zero bytes: A = 1, B = n
    return b"\x78\xda" + raw_deflate_zeros() + struct.pack(">I", adler)


@functools.cache
def brotli_zeros() -> bytes:
    """BOMB MiB of zeros as brotli, in a few hundred bytes (quality 3 streams a GiB in about a second),
    with the largest window: the decoder's ring buffer, 16 MiB, is its step and its memory."""
    c = brotli.Compressor(quality=3, lgwin=24)
    return b"".join(c.process(b"\0" * MiB) for _ in range(BOMB)) + c.finish()


class RawServer:
    """Answers each request on 127.0.0.1 with whatever bytes `respond` writes to the socket: what
    `Site` cannot send (no length, endless, slow, malformed)."""

    def __init__(self, respond: Callable[[socket.socket], None]):
        self.respond = respond
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            try:
                self.respond(conn)
            except OSError:  # the client gave up, as it should
                pass

    def close(self) -> None:
        self.sock.close()


def streamed(head: bytes, body: Iterator[bytes], pause: float = 0.0) -> Callable[[socket.socket], None]:
    """A response that writes `head`, then each piece of `body` (every `pause` seconds)."""
    def respond(conn: socket.socket) -> None:
        conn.sendall(head)
        for piece in body:
            conn.sendall(piece)
            time.sleep(pause)
    return respond


def forever(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


@dataclass
class Outcome:
    error: str | None
    seconds: float  # for the hostile request
    grown_mb: float  # peak resident memory, over what it was before the request
    stall: float  # the longest the event loop went without running a ready task
    healthy: float  # the slowest of the healthy requests made meanwhile


def fetch_in_child(url: str, healthy: str, max_bytes: int = LIMIT, timeout: float = 20) -> Outcome:
    with multiprocessing.get_context("forkserver").Pool(1) as pool:  # fresh, and quicker to start than spawn
        return pool.apply(_child, (url, healthy, max_bytes, timeout))


def _child(url: str, healthy: str, max_bytes: int, timeout: float) -> Outcome:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    return asyncio.run(_measure(url, healthy, max_bytes, timeout))


async def _measure(url: str, healthy: str, max_bytes: int, timeout: float) -> Outcome:
    async with Fetcher(FetchSettings(timeout=timeout)) as fetcher:
        await fetcher.get(healthy, MiB)  # imports and first connections, before the baseline
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stall = asyncio.create_task(_longest_stall())
        start = time.perf_counter()
        hostile = asyncio.create_task(_error(fetcher.get(url, max_bytes)))
        slowest = 0.0
        while not hostile.done() or not slowest:  # at least one healthy request, alongside
            t = time.perf_counter()
            await fetcher.get(healthy, MiB)
            slowest = max(slowest, time.perf_counter() - t)
        error = await hostile
        seconds = time.perf_counter() - start
        stall.cancel()
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        return Outcome(error, seconds, grown, await _result(stall), slowest)


async def _error(request) -> str | None:
    try:
        await request
    except FetchError as exc:
        return str(exc)
    return None


async def _longest_stall() -> float:
    longest = 0.0
    try:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            longest = max(longest, time.perf_counter() - t - 0.001)
    except asyncio.CancelledError:
        return longest


async def _result(task: asyncio.Task[float]) -> float:
    try:
        return await task
    except asyncio.CancelledError:
        return 0.0


@pytest.fixture
def healthy(site):
    return site.add("/healthy.xml", "<rss><channel><title>healthy</title></channel></rss>")


def assert_contained(outcome: Outcome, error: str, seconds: float = 5.0) -> None:
    assert outcome.error == error
    assert outcome.grown_mb < 50, outcome
    assert outcome.seconds < seconds, outcome
    assert outcome.stall < 0.5, outcome  # the healthy requests kept running (a decode in one piece: ~1 s)
    assert outcome.healthy < 1.0, outcome


TOO_LARGE = f"too large: more than {LIMIT:,} bytes"


@pytest.mark.parametrize("encoding,bomb", [
    ("br", brotli_zeros),
    ("gzip", gzip_zeros),
    ("deflate", zlib_zeros),
    ("deflate", raw_deflate_zeros),
    ("gzip, gzip", lambda: gzip.compress(gzip_zeros(), 9)),
    ("deflate, br", lambda: brotli.compress(zlib_zeros(), quality=5)),
], ids=["br", "gzip", "deflate", "raw deflate", "gzip, gzip", "deflate, br"])
def test_a_compression_bomb_stops_at_the_limit_in_bounded_memory(site, healthy, encoding, bomb):
    url = site.add("/bomb.xml", bomb(), headers={"Content-Encoding": encoding})
    assert_contained(fetch_in_child(url, healthy), TOO_LARGE)


def test_a_bomb_in_a_redirect_is_not_decoded(site, healthy):
    url = site.add("/bomb.xml", brotli_zeros(), status=302, headers={"Content-Encoding": "br", "Location": "/healthy.xml"})
    assert_contained(fetch_in_child(url, healthy), None)


@pytest.mark.parametrize("head,body,error", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", forever(b"10000\r\n" + b"a" * 0x10000 + b"\r\n"), TOO_LARGE),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", forever(b"a" * MiB), TOO_LARGE),
    (b"HTTP/1.1 200 OK\r\n", forever(b"X-Padding: " + b"a" * 1000 + b"\r\n"), "response headers too large (over 100 KB)"),
    (b"HTTP/1.1 200 OK\r\nX-Big: ", forever(b"a" * 1000), "response headers too large (over 100 KB)"),
    # a gzip header with a file name (flag 8) that never ends: input that never gives output
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n\x1f\x8b\x08\x08\0\0\0\0\0\xff",
     forever(b"a" * MiB), f"too large: more than {LIMIT + LIMIT // 64 + 65536:,} bytes before decoding"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n" + gzip.compress(b"<rss/>"),
     forever(b"\0" * MiB), f"too large: more than {LIMIT + LIMIT // 64 + 65536:,} bytes before decoding"),
], ids=["endless chunked body", "endless body to close", "endless headers", "endless header", "endless gzip name",
        "endless bytes after gzip"])
def test_an_endless_answer_is_cut_at_a_limit(healthy, head, body, error):
    server = RawServer(streamed(head, body))
    try:
        assert_contained(fetch_in_child(server.url, healthy), error)
    finally:
        server.close()


def test_a_slow_drip_is_cut_by_the_total_timeout(healthy):
    server = RawServer(streamed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", forever(b"a"), pause=0.05))
    try:
        outcome = fetch_in_child(server.url, healthy, timeout=1)
    finally:
        server.close()
    assert_contained(outcome, "timed out after 1 s", seconds=2)
    assert outcome.seconds > 0.9


def test_a_healthy_feed_is_not_slowed_by_a_bomb_decoded_beside_it(site, healthy):
    """The 16 MiB a bomb may decode to are given in pieces of 64 KiB, each followed by a turn of the
    event loop: other requests go on in between. (brotli decodes a window ahead, up to 16 MiB:
    about 35 ms at worst; zlib no more than a piece.) Before: one stall of about a second."""
    url = site.add("/bomb.xml", brotli_zeros(), headers={"Content-Encoding": "br"})
    outcome = fetch_in_child(url, healthy)
    assert outcome.error == TOO_LARGE
    assert outcome.stall < 0.5 and outcome.healthy < 0.8, outcome  # wall clock: room for a busy machine
