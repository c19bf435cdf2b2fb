"""Simplified and Traditional editions of what is written; the archive keeps the original."""

from __future__ import annotations

from support import item, newsmirror, rss

from newsmirror.editions import convert_html, converter
from newsmirror.store import Store

SIMPLIFIED = '<p>美国希望在停火谈判中取得进展。<a href="https://x.example/软件?q=头发">软件</a></p>' * 8


def test_only_text_is_converted():
    assert convert_html('<p title="头发">头发 &amp; 软件<br /></p>', converter("zh-TW")) == '<p title="头发">頭髮 &amp; 軟體<br /></p>'


def test_variant_and_editions(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1, title="美国之音新闻", body=SIMPLIFIED))),
               "--id", "voa", "--title", "美国之音")
    config = archive / "newsmirror.toml"
    config.write_text('variant = "zh-Hant"\neditions = ["zh-Hans", "zh-TW"]\n' + config.read_text())
    assert newsmirror("--archive", archive, "run").code == 0
    main = (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")
    assert "[美國之音新聞]" in main and "美國希望在停火談判中取得進展" in main
    assert 'href="https://x.example/软件?q=头发"' in main  # links untouched
    hans = (archive / "zh-Hans/articles/voa/1048574.md").read_text(encoding="utf-8")
    assert "美国希望在停火谈判中取得进展" in hans
    tw = (archive / "zh-TW/lists/美国之音.md").read_text(encoding="utf-8")
    assert tw.startswith("美國之音\n------\n\n") and "(/zh-TW/articles/voa/1048574.md)" in tw
    assert (archive / "zh-TW/README.md").read_text(encoding="utf-8").count("美國之音") == 1
    store = Store(archive / ".newsmirror")
    (row,) = store.entries("voa")
    store.close()
    assert row.title == "美国之音新闻" and "美国希望" in row.body  # stored as published
