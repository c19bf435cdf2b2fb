"""Images: local copies in the archive, and proxies that refuse a host."""

from __future__ import annotations

import hashlib

from support import item, newsmirror, rss

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def mirror(tmp_path, site, images: str, body: str):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1, body=body))), "--id", "f", "--title", "F")
    config = archive / "newsmirror.toml"
    config.write_text(images + "\n" + config.read_text())
    assert newsmirror("--archive", archive, "run").code == 0
    return archive, (archive / "articles/f/1048574.md").read_text(encoding="utf-8")


def test_local_mode_copies_each_image_once_content_addressed(tmp_path, site):
    site.add("/img/a.jpg", JPEG, content_type="image/jpeg")
    site.add("/img/a.jpg?copy", JPEG, content_type="image/jpeg")
    site.add("/img/protected.jpg", JPEG, content_type="application/octet-stream")
    site.add("/img/error.jpg", "<html>not found</html>", content_type="text/html")
    body = ("<p>文。</p>" * 12 + '<img src="/img/a.jpg"><img src="/img/a.jpg?copy"><img src="/img/protected.jpg">'
            '<img src="/img/error.jpg">')
    archive, text = mirror(tmp_path, site, '[images]\nmode = "local"', body)
    digest = hashlib.sha256(JPEG).hexdigest()
    local = f"../../media/{digest[:2]}/{digest}.jpg"
    assert text.count(f'src="{local}"') == 3  # one file for three URLs of the same bytes
    assert f'src="{site.base}/img/error.jpg"' in text  # not an image: the URL is kept
    assert (archive / local.removeprefix("../../")).read_bytes() == JPEG
    assert sorted(p.name for p in (archive / "media").rglob("*.jpg")) == [f"{digest}.jpg"]
    hits = site.hits["/img/a.jpg"]
    newsmirror("--archive", archive, "run", "--force")
    assert site.hits["/img/a.jpg"] == hits  # downloaded once


def test_hotlink_protected_hosts_get_their_referer(tmp_path, site):
    site.add("/img/p.jpg", JPEG, content_type="image/jpeg")
    host = site.base.split("//")[1].split(":")[0]
    config = f'[images]\nmode = "local"\n[images.referers]\n"{host}" = "https://www.example.com/"'
    mirror(tmp_path, site, config, "<p>文。</p>" * 12 + '<img src="/img/p.jpg">')
    (headers,) = [h for path, h in site.requests if path == "/img/p.jpg"]
    assert headers["referer"] == "https://www.example.com/"


def test_a_host_the_main_proxy_refuses_goes_through_the_first_fallback_that_serves_it(tmp_path, site):
    site.add("/main", b"refused", status=403, content_type="text/plain")  # every query string goes here
    site.add("/second", b"<html>captcha</html>", content_type="text/html")
    site.add("/third", JPEG, content_type="image/jpeg")
    config = (f'[images]\nproxy = "{site.base}/main?u={{url_encoded}}"\n'
              f'fallbacks = ["{site.base}/second?u={{url_encoded}}", "{site.base}/third?u={{url_encoded}}"]')
    archive, text = mirror(tmp_path, site, config, "<p>文。</p>" * 12 + '<img src="https://blocked.example/p.jpg">')
    assert f'src="{site.base}/third?u=https%3A%2F%2Fblocked.example%2Fp.jpg"' in text
    assert site.hits["/main?u=https%3A%2F%2Fblocked.example%2Fp.jpg"] == 1  # probed once
    site.add("/f.xml", rss(item(1, body="<p>文。</p>" * 12 + '<img src="https://blocked.example/p.jpg">'),
                           item(2, body="<p>又一篇。</p>" * 12 + '<img src="https://blocked.example/q.jpg">')))
    newsmirror("--archive", archive, "run")
    assert f'src="{site.base}/third?u=https%3A%2F%2Fblocked.example%2Fq.jpg"' in (archive / "articles/f/1048573.md").read_text()
    assert site.hits["/main?u=https%3A%2F%2Fblocked.example%2Fq.jpg"] == 0  # the host's choice is remembered


def test_keep_mode_leaves_urls_as_published(tmp_path, site):
    _, text = mirror(tmp_path, site, '[images]\nmode = "keep"', "<p>文。</p>" * 12 + '<img src="https://cdn.example/p.jpg">')
    assert '<img src="https://cdn.example/p.jpg">' in text
