"""HTTP for the whole pass: bounded, polite, conditional, concurrent (httpx, asyncio).

Every request has a total deadline and a size limit on the decompressed body, decoded here in
bounded steps (decompress.py); at most `concurrency` requests run at once and at most `per_host`
against one host. Redirects are followed, to http(s) URLs only, up to `max_redirects`; when every
hop was permanent (301/308) the response says so, so the caller can update the stored feed URL.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ssl
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpcore  # noqa: F401  httpx imports its transport when the first client is made: with
import httpx  # the rest of the imports, not inside the first pass while its workers wait for a feed

from . import urls
from .config import FetchSettings
from .decompress import DecodeError, Decoder

REDIRECTS = (301, 302, 303, 307, 308)
DISCARD_LIMIT = 64 * 1024  # a redirect's body is read, to reuse its connection, up to this size


class FetchError(Exception):
    """A request that gave no usable answer; `str()` is the one-line reason a user sees."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # the final URL, after redirects
    status: int  # 200, or 304 for a conditional request that found nothing new
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    content: bytes = b""
    moved_to: str | None = None  # set when every redirect was permanent

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def retry_after(value: str | None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": float() refuses it, and the 429 would be lost
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """One per pass: shares connections, enforces the limits. Use as an async context manager."""

    def __init__(self, settings: FetchSettings):
        self.settings = settings
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        self._all = asyncio.Semaphore(settings.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(settings.per_host))

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _client(self, proxy: str | None) -> httpx.AsyncClient:
        proxy = proxy or self.settings.proxy
        if proxy not in self._clients:
            s = self.settings
            self._clients[proxy] = httpx.AsyncClient(
                proxy=proxy or None,
                verify=_tls(),
                trust_env=proxy is None,  # HTTP(S)_PROXY / ALL_PROXY / NO_PROXY when none is configured
                follow_redirects=False,  # followed in _get
                event_hooks={"response": [_check_redirect]},
                timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout),
                headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate, br", **s.headers},
                limits=httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
            )
        return self._clients[proxy]

    async def get(
        self,
        url: str,
        max_bytes: int,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: dict[str, str] | None = None,
        proxy: str | None = None,
        accept: str = "*/*",
        method: str = "GET",
    ) -> Response:
        """GET `url` (or HEAD it: `doctor`); FetchError with a one-line reason for anything but 2xx/304."""
        if not urls.is_http(url):
            raise FetchError(f"not an http(s) URL: {url[:200]}")
        request_headers = {"Accept": accept, **(headers or {})}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        async with self._all, self._hosts[urls.host(url)]:
            try:
                async with asyncio.timeout(self.settings.timeout):
                    return await self._get(self._client(proxy), url, max_bytes, request_headers, method)
            except TimeoutError:
                raise FetchError(f"timed out after {self.settings.timeout:g} s") from None
            except httpx.TimeoutException:
                raise FetchError("timed out") from None
            except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:  # InvalidURL: too long, control characters
                raise FetchError(_reason(exc)) from None

    async def _get(self, client: httpx.AsyncClient, url: str, max_bytes: int, headers: dict[str, str],
                   method: str = "GET") -> Response:
        """Follow redirects here, not in httpx: it reads a redirect's body whole and decoded, and
        follows a `Location` to any scheme."""
        statuses: list[int] = []
        while True:
            async with client.stream(method, url, headers=headers) as r:
                target = _redirect(r)
                if target is None:
                    moved = str(r.url) if statuses and all(s in (301, 308) for s in statuses) else None
                    return await _answer(r, max_bytes, moved)
                if len(statuses) == self.settings.max_redirects:
                    raise FetchError(f"more than {self.settings.max_redirects} redirects")
                await _discard(r)
            headers = _redirect_headers(headers, url, target)
            statuses.append(r.status_code)
            url = target


def _redirect(r: httpx.Response) -> str | None:
    """The absolute http(s) URL a redirect points to; None when `r` is no redirect."""
    location = r.headers.get("location", "").strip()
    if r.status_code not in REDIRECTS or not location:
        return None
    target = urls.join(str(r.url), location)
    if not urls.is_http(target):
        raise FetchError(f"redirect to a non-http(s) URL: {location[:200]}")
    return target


def _redirect_headers(headers: dict[str, str], source: str, target: str) -> dict[str, str]:
    """Credentials stay with their origin (apart from http to https on one host), as httpx does."""
    old, new = httpx.URL(source), httpx.URL(target)
    same = (old.scheme, old.host, old.port) == (new.scheme, new.host, new.port)
    upgrade = (old.scheme, new.scheme) == ("http", "https") and old.host == new.host
    if same or upgrade:
        return headers
    return {k: v for k, v in headers.items() if k.lower() != "authorization"}


async def _check_redirect(r: httpx.Response) -> None:
    """Refuse a redirect to a non-http(s) URL before httpx parses its `Location` (it builds the next
    request even when not following, and fails on `javascript:` with a message about paths)."""
    _redirect(r)


async def _discard(r: httpx.Response) -> None:
    """Read an unneeded body, undecoded, so its connection can serve the next request; a large
    one is left unread and its connection closed with the response."""
    size = 0
    async for chunk in r.aiter_raw():
        size += len(chunk)
        if size > DISCARD_LIMIT:
            return


async def _answer(r: httpx.Response, max_bytes: int, moved: str | None) -> Response:
    """The final response of a request: its body read within `max_bytes`, or FetchError."""
    final = str(r.url)
    hdrs = {k.lower(): v for k, v in r.headers.items()}
    if r.status_code == 304:
        await _discard(r)  # nothing, but read to its end: else the connection is closed, not reused
        return Response(final, 304, hdrs, b"", moved)
    if not 200 <= r.status_code < 300:  # a 3xx here is no usable redirect: no Location, or 300/305
        raise FetchError(f"HTTP {r.status_code} {r.reason_phrase}".strip(), r.status_code,
                         retry_after(hdrs.get("retry-after")))
    declared = hdrs.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"too large: {int(declared):,} bytes (limit {max_bytes:,})")
    try:
        decoder = Decoder(r.headers.get_list("content-encoding", split_commas=True))
        content = await _read(r, decoder, max_bytes)
    except DecodeError as exc:
        raise FetchError(str(exc)) from None
    return Response(final, r.status_code, hdrs, content, moved)


async def _read(r: httpx.Response, decoder: Decoder, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it grows past `max_bytes`.

    Raw bytes are limited too: a compressed stream can give no output at all (bytes after its end
    are ignored, a gzip header can have an endless name), and compressed data is never much larger
    than what it decodes to.
    """
    raw_limit = max_bytes + max_bytes // 64 + 64 * 1024
    chunks: list[bytes] = []
    size = raw = 0
    async for chunk in r.aiter_raw():
        raw += len(chunk)
        if raw > raw_limit:
            raise FetchError(f"too large: more than {raw_limit:,} bytes before decoding")
        for piece in decoder.feed(chunk):
            size += len(piece)
            if size > max_bytes:
                raise FetchError(f"too large: more than {max_bytes:,} bytes")
            chunks.append(piece)
            await asyncio.sleep(0)  # let the other requests run between two bounded steps
    return b"".join(chunks)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~16 ms, once, not once a pass."""
    return httpx.create_ssl_context()


def _reason(exc: BaseException) -> str:
    """A short, readable reason for a transport failure."""
    text = str(exc) or type(exc).__name__
    for needle, reason in (("Name or service not known", "host not found"), ("nodename nor servname", "host not found"),
                           ("Temporary failure in name resolution", "host not found"),
                           ("Connection refused", "connection refused"),
                           ("All connection attempts failed", "cannot connect (refused or unreachable)"),
                           ("certificate", "TLS certificate error"),
                           ("Receive buffer too long", "response headers too large (over 100 KB)")):  # h11's words, httpcore's limit
        if needle in text:
            return reason
    return text.splitlines()[0][:200]


FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
               "text/xml;q=0.9, */*;q=0.5")  # what a feed request accepts
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"  # what an article page request accepts


def is_html(response: Response) -> bool:
    """Whether an answer may be an HTML page (no type, any text/* or *html*)."""
    kind = response.content_type.split(";")[0].strip().lower()
    return not kind or "html" in kind or kind.startswith("text/")
