"""Images: local copies in the archive, and proxies that refuse a host."""

from __future__ import annotations

import hashlib
import io
import re
from urllib.parse import urljoin

import pytest
from PIL import Image
from starlette.testclient import TestClient
from support import item, newsmirror, rss

from newsmirror.archive import Archive
from newsmirror.store import Store
from newsmirror.web import create_app

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200  # a JPEG signature only: what the proxy probes take for an image
TEXT = "<p>文。</p>" * 12


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def photo(width: int, height: int, **options) -> bytes:
    """A JPEG with some detail (a flat colour would compress to nothing)."""
    shade = Image.linear_gradient("L").resize((width, height))
    pixels = Image.merge("RGB", (shade, Image.effect_noise((width, height), 8), shade.rotate(180)))
    return encoded(pixels, "JPEG", quality=90, **options)


BIG = photo(2400, 1600)
TRANSPARENT = encoded(Image.new("RGBA", (400, 200), (255, 0, 0, 0)), "PNG")
ANIMATED = encoded(Image.new("RGB", (40, 40), "red"), "GIF", save_all=True,
                   append_images=[Image.new("RGB", (40, 40), c) for c in ("green", "blue")], duration=100, loop=0)
BOMB = encoded(Image.new("1", (8_000, 8_000)), "PNG")  # 8 KB that would decode to 64 M pixels


def copy_path(digest_of: bytes, extension: str) -> str:
    digest = hashlib.sha256(digest_of).hexdigest()
    return f"media/{digest[:2]}/{digest}.{extension}"


def mirror(tmp_path, site, images: str, body: str):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1, body=body))), "--id", "f", "--title", "F")
    config = archive / "newsmirror.toml"
    config.write_text(images + "\n" + config.read_text())
    assert newsmirror("--archive", archive, "run").code == 0
    return archive, (archive / "articles/f/1048574.md").read_text(encoding="utf-8")


def opened(path):
    with Image.open(path) as image:
        image.load()
        return image


def test_local_mode_stores_each_source_image_once_resized_under_the_hash_of_its_source(tmp_path, site):
    site.add("/img/a.jpg", BIG, content_type="image/jpeg")
    site.add("/img/a.jpg?copy", BIG, content_type="image/jpeg")
    site.add("/img/protected.jpg", BIG, content_type="application/octet-stream")
    site.add("/img/error.jpg", "<html>not found</html>", content_type="text/html")
    site.add("/img/page.jpg", "<html>a login page</html>", content_type="image/jpeg")  # labelled an image
    body = (TEXT + '<img src="/img/a.jpg"><img src="/img/a.jpg?copy"><img src="/img/protected.jpg">'
            '<img src="/img/error.jpg"><img src="/img/page.jpg">')
    archive, text = mirror(tmp_path, site, '[images]\nmode = "local"', body)
    local = copy_path(BIG, "webp")
    assert text.count(f'src="../../{local}"') == 3  # one file for three URLs of the same bytes
    assert f'src="{site.base}/img/error.jpg"' in text and f'src="{site.base}/img/page.jpg"' in text  # kept
    copy = opened(archive / local)
    assert (copy.format, copy.size) == ("WEBP", (1200, 800))  # 2400 x 1600, aspect kept
    assert (archive / local).stat().st_size < len(BIG) / 10
    assert [p.relative_to(archive).as_posix() for p in (archive / "media").rglob("*.*")] == [local]
    hits = site.hits["/img/a.jpg"], site.hits["/img/page.jpg"]
    newsmirror("--archive", archive, "run", "--force")
    assert (site.hits["/img/a.jpg"], site.hits["/img/page.jpg"]) == hits  # downloaded once, failures remembered


@pytest.mark.parametrize("kind", ["webp", "jpeg"])
def test_copies_are_bounded_and_encoded_as_configured(tmp_path, site, kind):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show": a phone's portrait photo, stored landscape
    exif[0x010F] = "Camera maker"
    sources = {"/big.jpg": BIG, "/small.jpg": photo(200, 100), "/rotated.jpg": photo(600, 300, exif=exif),
               "/clear.png": TRANSPARENT, "/moving.gif": ANIMATED}
    for path, data in sources.items():
        site.add(path, data, content_type="image/png")  # a wrong label: the bytes tell
    config = f'[images]\nmode = "local"\nmax_width = 500\nformat = "{kind}"\nquality = 70'
    archive, text = mirror(tmp_path, site, config, TEXT + "".join(f'<img src="{p}">' for p in sources))
    extension = "webp" if kind == "webp" else "jpg"
    copies = {p: opened(archive / copy_path(d, "gif" if p == "/moving.gif" else extension)) for p, d in sources.items()}
    assert all(f'src="../../{copy_path(d, c.format.lower().replace("jpeg", "jpg"))}"' in text
               for d, c in zip(sources.values(), copies.values()))
    assert copies["/big.jpg"].size == (500, 333)
    assert copies["/small.jpg"].size == (200, 100)  # never enlarged
    assert copies["/rotated.jpg"].size == (300, 600) and not copies["/rotated.jpg"].getexif()  # turned, EXIF gone
    clear = copies["/clear.png"]
    if kind == "webp":
        assert clear.mode == "RGBA" and clear.getpixel((0, 0))[3] == 0  # transparency kept
    else:
        assert clear.mode == "RGB" and clear.getpixel((0, 0)) == (255, 255, 255)  # laid on white
    assert (archive / copy_path(ANIMATED, "gif")).read_bytes() == ANIMATED  # animated: kept as it is


def test_a_bomb_or_a_broken_image_keeps_the_article_and_its_url(tmp_path, site):
    site.add("/bomb.png", BOMB, content_type="image/png")
    site.add("/cut.jpg", BIG[: len(BIG) // 2], content_type="image/jpeg")
    site.add("/fine.jpg", BIG, content_type="image/jpeg")
    archive, text = mirror(tmp_path, site, '[images]\nmode = "local"',
                           TEXT + '<img src="/bomb.png"><img src="/cut.jpg"><img src="/fine.jpg">')
    assert f'<img src="{site.base}/bomb.png">' in text and f'<img src="{site.base}/cut.jpg">' in text
    assert f'src="../../{copy_path(BIG, "webp")}"' in text  # the others of the article still copied
    assert len(list((archive / "media").rglob("*.*"))) == 1
    store = Store(archive / ".newsmirror")
    errors = dict(store.db.execute("SELECT url, error FROM images WHERE path IS NULL"))
    store.close()
    assert "too large to decode (8000 x 8000 pixels)" in errors[f"{site.base}/bomb.png"]
    assert "not a readable image" in errors[f"{site.base}/cut.jpg"]


def test_a_source_is_stored_once_whatever_the_settings_were_when_it_was_first_seen(tmp_path, site):
    site.add("/a.jpg", BIG, content_type="image/jpeg")
    site.add("/elsewhere.jpg", BIG, content_type="image/jpeg")
    archive, _ = mirror(tmp_path, site, '[images]\nmode = "local"', TEXT + '<img src="/a.jpg">')
    config = archive / "newsmirror.toml"
    config.write_text('[images]\nmode = "local"\nformat = "jpeg"\nmax_width = 300\n'
                      + config.read_text().split("\n", 2)[2])
    site.add("/f.xml", rss(item(1, body=TEXT + '<img src="/a.jpg">'), item(2, body="<p>又一篇。</p>" * 12 + '<img src="/elsewhere.jpg">')))
    assert newsmirror("--archive", archive, "run").code == 0
    assert f'src="../../{copy_path(BIG, "webp")}"' in (archive / "articles/f/1048573.md").read_text(encoding="utf-8")
    assert len(list((archive / "media").rglob("*.*"))) == 1


def test_a_local_copy_is_found_from_the_markdown_the_site_an_edition_and_serve(tmp_path, site):
    site.add("/a.jpg", BIG, content_type="image/jpeg")
    archive, _ = mirror(tmp_path, site, 'editions = ["zh-Hant"]\n[images]\nmode = "local"', TEXT + '<img src="/a.jpg">')
    assert newsmirror("--archive", archive, "site").code == 0
    target = (archive / copy_path(BIG, "webp")).resolve()
    # A git host's view and a clone resolve a path from the file's folder; so does a browser
    # showing the site from file:// or from a host serving the whole repository.
    for page in ("articles/f/1048574.md", "zh-Hant/articles/f/1048574.md", "site/articles/f/1048574.html"):
        (src,) = re.findall(r'<img src="([^"]+)"', (archive / page).read_text(encoding="utf-8"))
        assert (archive / page).parent.joinpath(src).resolve() == target, page
    # `newsmirror serve` puts the site at the root: the path leads to /media/ all the same.
    client = TestClient(create_app(Archive(archive)))
    (src,) = re.findall(r'<img src="([^"]+)"', client.get("/articles/f/1048574.html").text)
    image = client.get(urljoin("http://testserver/articles/f/1048574.html", src))
    assert image.status_code == 200 and image.content == target.read_bytes()


def test_hotlink_protected_hosts_get_their_referer(tmp_path, site):
    site.add("/img/p.jpg", JPEG, content_type="image/jpeg")
    host = site.base.split("//")[1].split(":")[0]
    config = f'[images]\nmode = "local"\n[images.referers]\n"{host}" = "https://www.example.com/"'
    mirror(tmp_path, site, config, TEXT + '<img src="/img/p.jpg">')
    (headers,) = [h for path, h in site.requests if path == "/img/p.jpg"]
    assert headers["referer"] == "https://www.example.com/"


def test_a_host_the_main_proxy_refuses_goes_through_the_first_fallback_that_serves_it(tmp_path, site):
    site.add("/main", b"refused", status=403, content_type="text/plain")  # every query string goes here
    site.add("/second", b"<html>captcha</html>", content_type="text/html")
    site.add("/third", JPEG, content_type="image/jpeg")
    config = (f'[images]\nproxy = "{site.base}/main?u={{url_encoded}}"\n'
              f'fallbacks = ["{site.base}/second?u={{url_encoded}}", "{site.base}/third?u={{url_encoded}}"]')
    archive, text = mirror(tmp_path, site, config, TEXT + '<img src="https://blocked.example/p.jpg">')
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
