"""Link serialization and identity."""

from __future__ import annotations

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
