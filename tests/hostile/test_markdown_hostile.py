"""Hostile titles, links and bodies in the Markdown files: no script link, no injected link or
markup, whatever a feed (or an older archive) holds; and no text pass slower than linear."""

from __future__ import annotations

import json
import time

from markdown_it import MarkdownIt
from markdown_it.token import Token
from support import item, newsmirror, rss

from newsmirror.archive import Archive
from newsmirror.model import Article
from newsmirror.render.markdown import article, list_page, one_line, read_article, readme
from newsmirror.store import Store

T = 1715117943000
SCRIPT_LINKS = ["javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "JaVaScRiPt:alert(1)",
                "\njavascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>alert(1)</script>",
                "javascript://x.example/%0Aalert(1)", "/relative/path", "not a url", ""]
MARKUP_TITLES = ["<img src=x onerror=alert(1)>", "</title><script>alert(1)</script>", "a](javascript:alert(1))",
                 "[click](javascript:alert(1))", "<javascript:alert(1)>", "![x](http://x.example/p.png)",
                 "`](javascript:alert(1))`", "&lt;script&gt;", "<!-- x -->"]
COMMONMARK = MarkdownIt("commonmark")


def tokens(text: str) -> list[Token]:
    """Every token, inline ones included."""
    out = []
    for t in COMMONMARK.parse(text):
        out += [t, *(t.children or [])]
    return out


def hrefs(text: str) -> list[str]:
    return [t.attrGet("href") for t in tokens(text) if t.type == "link_open"]


def test_a_link_that_is_not_http_is_written_as_no_link():
    for link in SCRIPT_LINKS:
        text = article(Article("voa", 1, "标题", link, T, "<p>正文仍在。</p>"))
        assert text.split("\n")[1] == "[标题]()", link
        assert read_article(text) == (T, "标题", "", "<p>正文仍在。</p>")
    assert read_article(article(Article("voa", 1, "标题", "HTTPS://X.example/a b", T, "<p>x</p>")))[2] == \
        "https://x.example/a%20b"  # an http(s) link is written in its WHATWG serialization


def test_a_parenthesis_in_a_link_cannot_end_it():
    """Before: `[t](http://x/a) [click](javascript:...)`, and reindex read the script link back."""
    link = "http://x.example/a)%20[click](javascript:alert(1))"
    text = article(Article("voa", 1, "标题", link, T, "<p>x</p>"))
    assert hrefs(text) == [COMMONMARK.normalizeLink(link)]  # percent-encoded for HTML, nothing more
    assert read_article(text)[2] == link


def test_markup_in_titles_is_text_in_articles_lists_and_the_readme():
    for title in MARKUP_TITLES:
        articles = [Article("voa", 1048574, title, "https://x.example/1", T, "<p>x</p>")]
        for text in (article(articles[0]), list_page(title, articles), readme([title], ["voa"])):
            kinds = {t.type for t in tokens(text)}
            assert not kinds & {"html_inline", "image", "code_inline"}, (title, text)
            assert len(hrefs(text)) == 1 and not any("javascript" in h for h in hrefs(text)), (title, text)
        assert read_article(article(articles[0]))[1] == title


def test_a_list_page_title_cannot_become_another_block():
    for title in ["- 列表", "# 标题", "1. 第一", "2) 第二", "> 引用", "***", "~~~", "```", "|表格", "表格|", "<div>x</div>"]:
        blocks = [t.type for t in COMMONMARK.enable("table").parse(list_page(title, [])) if t.level == 0 and t.map]
        assert blocks == ["heading_open"], (title, blocks)


def test_one_line_is_linear_on_long_runs_of_white_space():
    """The pattern before took 32 s on this title."""
    start = time.perf_counter()
    assert one_line("a\nx" + " " * 40000 + "y") == "a x" + " " * 40000 + "y"
    assert one_line(" \n".join(["x"] * 20000) + "\r" + "\t" * 40000) == " ".join(["x"] * 20000)
    assert time.perf_counter() - start < 0.5


def test_a_plain_text_body_is_never_read_as_markdown(tmp_path, site):
    """A JSON Feed item with only `content_text`: its words become the body, links and all."""
    text = "[点这里](javascript:alert(1)) <b>不是标签</b> " + "这是一段很长的纯文本正文。" * 40
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "纯文本",
            "items": [{"id": "1", "url": site.url("/a/1"), "title": "纯文本", "content_text": text,
                       "date_published": "2024-05-07T21:39:03Z"}]}
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.json", json.dumps(feed), content_type="application/feed+json"),
               "--id", "txt", "--title", "纯文本")
    assert newsmirror("--archive", archive, "run").code == 0
    written = (archive / "articles/txt/1048574.md").read_text(encoding="utf-8")
    assert "[点这里](javascript:alert(1))" in written
    assert hrefs(written) == [site.url("/a/1")]
    assert [t.type for t in COMMONMARK.parse(written) if t.level == 0 and t.map][-1] == "html_block"


def test_an_old_archive_holding_script_links_writes_none(tmp_path, site):
    """Rows stored by an older version (or read back from the original mirror's files) are not trusted."""
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "old", "--title", "旧存档")
    store = Store(Archive(archive).state_dir)
    try:
        store.add_entries([{
            "feed_id": "old", "number": 1048574 - i, "guid": f"old-{i}", "link": link, "canonical": None,
            "title": f"旧文章{i}", "published": T - i, "first_seen": T, "body": "<p>旧的正文。</p>" * 10,
            "source_hash": "", "from_page": 0, "partial": 0, "page_attempts": 0, "removed_at": None,
            "feed_hash": None, "revised_at": None, "checked_at": None,
        } for i, link in enumerate(SCRIPT_LINKS)])
    finally:
        store.close()
    assert newsmirror("--archive", archive, "run").code == 0
    old = [p.read_text(encoding="utf-8") for p in (archive / "articles/old").glob("*.md")]
    old = [text for text in old if read_article(text)[1].startswith("旧文章")]
    assert len(old) == len(SCRIPT_LINKS)
    for text in old:
        assert hrefs(text) == [""] and read_article(text)[2] == "", text
    for feed in (archive / "feeds").iterdir():
        data = feed.read_text(encoding="utf-8").lower()
        assert "script:" not in data and "data:text" not in data, feed.name
