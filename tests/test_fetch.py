"""HTTP behaviour: compression and limits, conditional requests, redirects, politeness, proxies."""

from __future__ import annotations

import asyncio
import gzip
import random
import re
import zlib

import brotli
import pytest
from support import Site, item, newsmirror, rss

from newsmirror import config as configuration
from newsmirror.config import FetchSettings
from newsmirror.decompress import STEP, DecodeError, Decoder
from newsmirror.fetch import Fetcher, FetchError, retry_after
from newsmirror.store import Store


def get(url: str, max_bytes: int = 1 << 20, settings: FetchSettings = FetchSettings(), **kw):
    async def go():
        async with Fetcher(settings) as f:
            return await f.get(url, max_bytes, **kw)
    return asyncio.run(go())


@pytest.mark.parametrize("encoding,compress", [("gzip", None), ("deflate", zlib.compress), ("br", brotli.compress)])
def test_compressed_bodies_are_decoded(site, encoding, compress):
    body = rss(item(1)).encode()
    if compress:
        site.add("/f.xml", compress(body), headers={"Content-Encoding": encoding})
    else:
        site.add("/f.xml", body, gzip=True)
    assert get(site.url("/f.xml")).content.startswith(b"<?xml")


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def br(data: bytes) -> bytes:
    return brotli.compress(data, quality=4)  # the default, 11, takes seconds for TEXT


CODINGS = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress, "br": br}
TEXT = "".join(f"<p>第{i}段 {random.Random(i).random()}</p>" for i in range(20_000)).encode()  # ~700 KB, several steps


def decode(codings: list[str], body: bytes, chunk: int = 1000) -> list[bytes]:
    decoder = Decoder(codings)
    return [piece for i in range(0, len(body), chunk) for piece in decoder.feed(body[i:i + chunk])]


@pytest.mark.parametrize("header", ["gzip", "x-gzip", "deflate", "br", "GZIP", "identity", "", "br, gzip", "gzip, gzip",
                                    "deflate, br, gzip", "identity, br"])
@pytest.mark.parametrize("chunk", [1, 4096, 1 << 20])
def test_every_encoding_and_stack_decodes_in_bounded_pieces(header, chunk):
    codings = [c.strip() for c in header.split(",")]
    body = TEXT[:5000] if chunk == 1 else TEXT  # byte by byte only for a small body: it is slow
    encoded = body
    for coding in codings:  # applied in header order, so undone in reverse
        encoded = CODINGS.get(coding.lower(), bytes)(encoded)
    pieces = decode(codings, encoded, chunk)
    assert b"".join(pieces) == body
    assert max(map(len, pieces)) <= max(2 * STEP, chunk)  # brotli's limit is a little loose; identity passes chunks on


def test_raw_deflate_is_read_as_browsers_do():
    assert b"".join(decode(["deflate"], raw_deflate(TEXT))) == TEXT


def test_a_bomb_is_decoded_one_step_at_a_time():
    bomb = zlib.compress(b"\0" * (64 << 20))  # 64 MiB in 64 KB: one network chunk
    pieces = Decoder(["deflate"]).feed(bomb)
    assert [len(next(pieces)) for _ in range(3)] == [STEP] * 3  # nothing decoded ahead of the caller


def test_bytes_after_the_end_of_a_gzip_stream_are_ignored():
    assert b"".join(decode(["gzip"], gzip.compress(b"<rss/>") + b"\r\n<junk>")) == b"<rss/>"


@pytest.mark.parametrize("header,body,reason", [
    ("zstd", b"x", "unsupported Content-Encoding: zstd"),
    ("gzip, compress", b"x", "unsupported Content-Encoding: compress"),
    ("gzip, gzip, gzip, gzip", b"x", "more than 3 Content-Encodings: gzip, gzip, gzip, gzip"),
    ("gzip", b"<rss>not gzip</rss>", r"corrupt gzip body \(Error -3 while decompressing data: incorrect header check\)"),
    ("br", b"<rss>not brotli</rss>", "corrupt br body"),
    ("gzip, br", gzip.compress(b"<rss>not brotli</rss>"), "corrupt br body"),
    ("deflate", zlib.compress(TEXT)[:-4] + b"\0\0\0\0", r"corrupt deflate body \(.*incorrect data check\)"),
])
def test_unknown_or_corrupt_encodings_are_one_line_reasons(header, body, reason):
    with pytest.raises(DecodeError, match=f"^{reason}"):
        decode(header.split(","), body)


@pytest.mark.parametrize("header", ["gzip", "deflate", "br", "gzip, br"])
def test_the_limit_is_exact_on_the_decoded_size(site, header):
    body = TEXT[:300_000]
    encoded = body
    for coding in header.split(", "):
        encoded = CODINGS[coding](encoded)
    site.add("/f.xml", encoded, headers={"Content-Encoding": header})
    assert get(site.url("/f.xml"), max_bytes=len(body)).content == body
    with pytest.raises(FetchError, match=f"^too large: more than {len(body) - 1:,} bytes$"):
        get(site.url("/f.xml"), max_bytes=len(body) - 1)


def test_an_unknown_encoding_fails_the_request(site):
    site.add("/f.xml", b"<rss/>", headers={"Content-Encoding": "zstd"})
    with pytest.raises(FetchError, match="^unsupported Content-Encoding: zstd$"):
        get(site.url("/f.xml"))


def test_the_size_limit_applies_to_the_decompressed_body(site):
    bomb = zlib.compress(b"<rss>" + b" " * 5_000_000)  # 5 MB that travels as a few KB
    site.add("/bomb.xml", bomb, headers={"Content-Encoding": "deflate"})
    with pytest.raises(FetchError, match="too large"):
        get(site.url("/bomb.xml"), max_bytes=1_000_000)


def test_declared_length_over_the_limit_is_refused_before_reading(site):
    site.add("/big.xml", b"x" * 5000)
    with pytest.raises(FetchError, match="too large: 5,000 bytes"):
        get(site.url("/big.xml"), max_bytes=100)


def test_total_timeout(site):
    site.add("/slow.xml", rss(), delay=2)
    with pytest.raises(FetchError, match="timed out"):
        get(site.url("/slow.xml"), settings=FetchSettings(timeout=0.5))


def test_redirects_are_followed_up_to_the_limit(site):
    for i in range(7):
        site.add(f"/r{i}", b"", status=302, headers={"Location": f"/r{i + 1}"})
    site.add("/r7", rss())
    with pytest.raises(FetchError, match="more than 5 redirects"):
        get(site.url("/r0"))
    assert get(site.url("/r3")).url == site.url("/r7")


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/f.xml", "javascript:alert(1)"])
def test_redirects_go_to_http_urls_only(site, location):
    site.add("/f.xml", b"", status=302, headers={"Location": location})
    with pytest.raises(FetchError, match=re.escape(f"redirect to a non-http(s) URL: {location}")):
        get(site.url("/f.xml"))


def test_a_redirect_without_a_location_is_an_error_not_a_feed(site):
    site.add("/f.xml", rss(), status=302)
    with pytest.raises(FetchError, match="^HTTP 302 Found$"):
        get(site.url("/f.xml"))


def test_redirects_reuse_the_connection_and_keep_credentials_in_their_origin(site):
    other = Site()
    try:
        other.add("/f.xml", rss())
        site.add("/a", b"moved" * 1000, status=301, headers={"Location": "/b"})
        site.add("/b", b"", status=308, headers={"Location": other.url("/f.xml")})
        response = get(site.url("/a"), settings=FetchSettings(per_host=1), headers={"Authorization": "Bearer x"})
        assert response.moved_to == other.url("/f.xml") and response.content.startswith(b"<?xml")
        assert len(site.connections) == 1  # the redirect's body was read, so its connection served /b
        assert site.requests[-1][1]["authorization"] == "Bearer x"  # same origin
        assert "authorization" not in other.requests[-1][1]
    finally:
        other.close()


def test_a_url_httpx_refuses_is_a_fetch_error():
    with pytest.raises(FetchError, match="^URL too long$"):
        get("http://127.0.0.1/" + "x" * 70_000)


def test_a_not_modified_answer_leaves_the_connection_open_for_the_next_request(site):
    url = site.add("/f.xml", rss(item(1)), headers={"ETag": '"v1"'})

    async def go():
        async with Fetcher(FetchSettings(per_host=1)) as f:
            return [(await f.get(url, 1 << 20, etag='"v1"')).status for _ in range(3)]

    assert asyncio.run(go()) == [304, 304, 304]
    assert len(site.connections) == 1


def test_a_compressed_answer_leaves_the_connection_open_for_the_next_request(site):
    url = site.add("/f.xml", rss(item(1)), gzip=True)

    async def go():
        async with Fetcher(FetchSettings(per_host=1)) as f:
            return [len((await f.get(url, 1 << 20)).content) for _ in range(3)]

    assert asyncio.run(go()) == [len(rss(item(1)).replace("__BASE__", site.base).encode())] * 3
    assert len(site.connections) == 1


def test_only_http_urls_are_fetched():
    with pytest.raises(FetchError, match="not an http"):
        get("file:///etc/passwd")


def test_identity_and_extra_headers(site):
    site.add("/f.xml", rss())
    get(site.url("/f.xml"), headers={"Cookie": "a=b"}, etag='"x"', last_modified="Tue, 07 May 2024 21:39:03 GMT")
    headers = site.requests[-1][1]
    assert headers["user-agent"].startswith("newsmirror/")
    assert headers["cookie"] == "a=b" and headers["if-none-match"] == '"x"'
    assert headers["if-modified-since"] == "Tue, 07 May 2024 21:39:03 GMT"
    assert "br" in headers["accept-encoding"] and "gzip" in headers["accept-encoding"]


def test_retry_after_forms():
    assert retry_after("120") == 120
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after("soon") is None
    assert retry_after("²") is None  # a digit to str.isdigit(), not to float()


def mirror(tmp_path, site: Site, *extra: str):
    """A mirror of the feed /f.xml, which each test serves as it needs (--force: maybe not yet)."""
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.url("/f.xml"), "--id", "f", "--title", "F", "--force", *extra)
    site.hits.clear()  # the passes' requests are counted, not add's look at the URL
    return archive


def state(archive):
    store = Store(archive / ".newsmirror")
    try:
        return store.feed("f")
    finally:
        store.close()


def test_a_permanent_redirect_updates_the_configuration(tmp_path, site):
    site.add("/new.xml", rss(item(1)))
    archive = mirror(tmp_path, site)
    site.add("/f.xml", b"", status=301, headers={"Location": "/new.xml"})
    result = newsmirror("--archive", archive, "run")
    assert f"moved permanently to {site.url('/new.xml')}; configuration updated" in result.out
    assert configuration.load(archive / "newsmirror.toml").feed("f").url == site.url("/new.xml")


def test_a_temporary_redirect_does_not(tmp_path, site):
    site.add("/tmp.xml", rss(item(1)))
    archive = mirror(tmp_path, site)
    site.add("/f.xml", b"", status=302, headers={"Location": "/tmp.xml"})
    assert "f: 1 new" in newsmirror("--archive", archive, "run").out
    assert configuration.load(archive / "newsmirror.toml").feed("f").url == site.url("/f.xml")


def test_410_disables_the_feed_with_the_reason(tmp_path, site):
    site.add("/f.xml", rss(item(1)))
    archive = mirror(tmp_path, site)
    site.add("/f.xml", b"gone", status=410)
    newsmirror("--archive", archive, "run")
    assert state(archive).disabled.startswith("HTTP 410 Gone on ")
    again = newsmirror("--archive", archive, "run", "--force")
    assert "f: failed: disabled: HTTP 410 Gone" in again.out
    assert site.hits["/f.xml"] == 1  # not asked again


def test_429_honours_retry_after_and_later_passes_wait(tmp_path, site):
    site.add("/f.xml", b"slow down", status=429, headers={"Retry-After": "3600"})
    archive = mirror(tmp_path, site)
    assert "f: failed: HTTP 429" in newsmirror("--archive", archive, "run").out
    s = state(archive)
    assert 3590_000 < s.next_attempt - s.last_attempt <= 3600_000 + 1000
    deferred = newsmirror("--archive", archive, "run")
    assert "f: deferred: until" in deferred.out and "(last: HTTP 429 Too Many Requests)" in deferred.out
    assert re.search(r"until \d{4}-\d\d-\d\d \d\d:\d\d UTC\+8 after 1 failure", deferred.out)  # [display] timezone
    assert site.hits["/f.xml"] == 1  # only by the first pass


def test_failures_back_off_exponentially(tmp_path, site):
    site.add("/f.xml", b"down", status=500)
    archive = mirror(tmp_path, site)
    gaps = []
    for _ in range(3):
        newsmirror("--archive", archive, "run", "--force")
        s = state(archive)
        gaps.append((s.next_attempt - s.last_attempt) / 60000)
    assert state(archive).errors == 3
    assert 12 <= gaps[0] <= 18 and 24 <= gaps[1] <= 36 and 48 <= gaps[2] <= 72


def test_a_server_ignoring_conditional_requests_costs_no_parsing(tmp_path, site, monkeypatch):
    import newsmirror.process as process

    calls = tmp_path / "parsed"  # parsing runs in a worker process: it leaves a mark here
    real = process.parse

    def counted(*args):
        with calls.open("a") as fh:
            fh.write("x")
        return real(*args)

    monkeypatch.setattr(process, "parse", counted)
    site.add("/f.xml", rss(item(1)))  # no ETag, no Last-Modified
    archive = mirror(tmp_path, site)
    newsmirror("--archive", archive, "run")
    newsmirror("--archive", archive, "run")
    assert calls.read_text() == "x"


def test_feed_ttl_and_max_age_are_remembered(tmp_path, site):
    site.add("/f.xml", rss(item(1)).replace("<channel>", "<channel><ttl>90</ttl>"), headers={"Cache-Control": "max-age=600"})
    archive = mirror(tmp_path, site)
    newsmirror("--archive", archive, "run")
    assert state(archive).min_interval == 90 * 60


class ForwardProxy(Site):
    """A plain HTTP proxy: answers absolute-URI requests itself and records them."""


def test_feeds_go_through_their_proxy(tmp_path, site):
    proxy = ForwardProxy()
    try:
        proxy.add("http://feeds.example/f.xml", rss(item(1)))
        archive = tmp_path / "m"
        archive.mkdir()
        (archive / "newsmirror.toml").write_text(
            f'[[feeds]]\nid = "f"\ntitle = "F"\nurl = "http://feeds.example/f.xml"\nproxy = "{proxy.base}"\nfull_text = "never"\n')
        result = newsmirror("--archive", archive, "run")
        assert "f: 1 new" in result.out
        assert proxy.requests[0][0] == "http://feeds.example/f.xml"
    finally:
        proxy.close()
