"""Link serialization and identity."""

from __future__ import annotations

import pytest

from newsmirror import urls


def test_whatwg_serialization():
    assert urls.serialize("HTTPS://WWW.Example.COM") == "https://www.example.com/"
    assert urls.serialize("https://例子.测试/中文 路径?q=中 文") == "https://xn--fsqu00a.xn--0zwm56d/%E4%B8%AD%E6%96%87%20%E8%B7%AF%E5%BE%84?q=%E4%B8%AD%20%E6%96%87"
    assert urls.serialize("https://x.org/a%20b") == "https://x.org/a%20b"


def test_canonical_folds_scheme_www_tracking_fragment_amp_and_mobile():
    same = ["https://www.voachinese.com/a/7601848.html", "http://voachinese.com/a/7601848.html#top",
            "https://www.voachinese.com/a/7601848.html?utm_source=twitter&utm_medium=social",
            "https://m.voachinese.com/a/7601848.html", "https://www.voachinese.com/amp/a/7601848.html",
            "https://WWW.VOACHINESE.COM/a/7601848.html/"]
    assert len({urls.canonical(u) for u in same}) == 1
    assert urls.canonical("https://x.org/a?id=1") != urls.canonical("https://x.org/a?id=2")


def test_slug():
    assert urls.slug("https://www.voachinese.com/api/x") == "voachinese-com"


@pytest.mark.parametrize(("ref", "wanted"), [
    ("https://a.example/x y", "https://a.example/x%20y"),
    ("/a/1.html", "https://f.example/a/1.html"),
    ("//cdn.example/p.jpg", "https://cdn.example/p.jpg"),
    ("HTTP://A.Example", "http://a.example/"),
    ("javascript:alert(1)", None), (" JavaScript:alert(1)", None), ("java\tscript:alert(1)", None),
    ("java\r\nscript:alert(1)", None), ("\x00javascript:alert(1)", None), ("vbscript:x", None),
    ("data:text/html,x", None), ("mailto:a@b.example", None), ("ftp://f.example/", None),
    ("file:///etc/passwd", None), ("http://[bad", None), ("", None),
])
def test_http_url_resolves_and_keeps_only_http(ref, wanted):
    assert urls.http_url("https://f.example/feed.xml", ref) == wanted


def test_http_url_without_a_base_keeps_only_absolute_http():
    assert urls.http_url("", "https://a.example") == "https://a.example/"
    assert urls.http_url("", "/relative") is None
