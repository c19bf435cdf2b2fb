"""HTTP behaviour: compression and limits, conditional requests, redirects, politeness, proxies."""

from __future__ import annotations

import asyncio
import zlib

import brotli
import pytest

from newsmirror import config as configuration
from newsmirror.config import FetchSettings
from newsmirror.fetch import Fetcher, FetchError, retry_after
from newsmirror.store import Store
from support import Site, item, newsmirror, rss


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


def test_a_not_modified_answer_leaves_the_connection_open_for_the_next_request(site):
    url = site.add("/f.xml", rss(item(1)), headers={"ETag": '"v1"'})

    async def go():
        async with Fetcher(FetchSettings(per_host=1)) as f:
            return [(await f.get(url, 1 << 20, etag='"v1"')).status for _ in range(3)]

    assert asyncio.run(go()) == [304, 304, 304]
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


def mirror(tmp_path, site: Site, *extra: str):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.url("/f.xml"), "--id", "f", "--title", "F", *extra)
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
