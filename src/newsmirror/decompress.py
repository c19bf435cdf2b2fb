"""Content-Encoding decoding in bounded steps, so that a small hostile body cannot become a huge one.

httpx decodes a whole network chunk at once and without an output limit: an 8 KB brotli body
took 10 GB of memory, and the event loop stalled while it was decoded. Here every decoder gives
its output in pieces of about `STEP` bytes, whatever the ratio, and the caller checks the size as
it grows. Stacked encodings (`Content-Encoding: gzip, br`) are decoded in reverse order, each
stage feeding the next one piece at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol

import brotli  # type: ignore[import-untyped]  # no stubs

STEP = 64 * 1024  # the most output one decoding step produces (brotli may give up to about twice as much)
MAX_CODINGS = 3  # curl allows 5 (CVE-2022-32206); each stage holds a window of up to 16 MiB (brotli)


class DecodeError(Exception):
    """A body that cannot be decoded; `str()` is a one-line reason."""


class _Stage(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded output for `data`, in pieces of at most about STEP bytes."""
        ...


class _Zlib:
    """gzip or zlib-wrapped or raw deflate, by `wbits`, through zlib's output limit."""

    def __init__(self, wbits: int):
        self._d = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        # Input that would give more than STEP stays in unconsumed_tail for the next round; the last
        # round, with no input left, drains what zlib still holds. Bytes after the end of the
        # stream are ignored, as httpx and browsers do.
        while not self._d.eof:
            out = self._d.decompress(data, STEP)
            data = self._d.unconsumed_tail
            if not out:
                return
            yield out


class _Deflate:
    """`deflate` as browsers read it: zlib-wrapped as the RFC says, or raw as some servers send it."""

    def __init__(self) -> None:
        self._head = b""
        self._inner: _Zlib | None = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inner is None:
            self._head += data
            if len(self._head) < 2:  # the two bytes of a zlib header tell the forms apart
                return
            self._inner = _Zlib(zlib.MAX_WBITS if _zlib_header(self._head) else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        yield from self._inner.feed(data)


def _zlib_header(head: bytes) -> bool:
    """True when the first two bytes are a zlib header (RFC 1950: deflate, window <= 32K, check bits)."""
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


class _Brotli:
    """brotli through its output limit: after the input, empty calls drain what it still holds."""

    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.process(data, output_buffer_limit=STEP)
        while out:
            yield out
            out = self._d.process(b"", output_buffer_limit=STEP)


def _stage(coding: str) -> _Stage:
    if coding in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Deflate()
    if coding == "br":
        return _Brotli()
    raise DecodeError(f"unsupported Content-Encoding: {coding[:40]}")


class Decoder:
    """The chain for one body's Content-Encoding values (header order: the last applied is first undone)."""

    def __init__(self, codings: Sequence[str]):
        names = [c.strip().lower() for c in codings]
        names = [n for n in names if n not in ("", "identity")]
        if len(names) > MAX_CODINGS:
            raise DecodeError(f"more than {MAX_CODINGS} Content-Encodings: {', '.join(names)[:80]}")
        self._names = names[::-1]
        self._stages = [_stage(n) for n in self._names]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded output for the next raw chunk, in pieces of at most about STEP bytes."""
        return self._through(0, data)

    def _through(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self._stages):
            if data:
                yield data
            return
        try:
            for piece in self._stages[i].feed(data):
                yield from self._through(i + 1, piece)
        except (zlib.error, brotli.error) as exc:
            raise DecodeError(f"corrupt {self._names[i]} body ({str(exc).splitlines()[0][:100]})") from None
