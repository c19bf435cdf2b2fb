"""Simplified and Traditional editions of what is written; the archive keeps the original."""

from __future__ import annotations

import pytest
from support import item, newsmirror, rss

from newsmirror.editions import SAMPLE, convert_html, converter, lang_of
from newsmirror.store import Store

SIMPLIFIED = '<p>美国希望在停火谈判中取得进展。<a href="https://x.example/软件?q=头发">软件</a></p>' * 8


def test_only_text_is_converted():
    assert convert_html('<p title="头发">头发 &amp; 软件<br /></p>', converter("zh-TW")) == '<p title="头发">頭髮 &amp; 軟體<br /></p>'


@pytest.mark.parametrize(("text", "lang"), [
    ("以色列占领拉法过境点加沙一侧，美国希望在停火谈判中取得进展", "zh-Hans"),
    ("以色列佔領拉法過境點加沙一側，美國希望在停火談判中取得進展", "zh-Hant"),
    ("台灣立法院今日通過預算，台北市長表示支持", "zh-Hant"),  # 台 is Simplified-only to OpenCC, but outvoted
    ("表格", "zh"),  # 表, the fold of 錶, is Traditional too
    ("Israel takes the Rafah crossing, says 美国之音", "en"),
    ("中文大学", "zh-Hans"), ("中文大學", "zh-Hant"), ("中文大人", "zh"), ("", "zh"), ("1234 — 56", "zh"),  # nothing tells
    ("\ue000\ue000\ue001中文", "zh"),  # the private-use marks lang_of counts with, in the text: nothing
])
def test_the_script_of_a_text_is_told_by_the_characters_only_one_script_uses(text, lang):
    assert lang_of(text) == lang


def test_the_script_is_told_from_a_bounded_sample():
    assert lang_of("中国" * SAMPLE + "發" * 10 * SAMPLE, default="zh-Hans") == "zh-Hans"
    assert lang_of("一" * SAMPLE + "國", default="und") == "und"


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
