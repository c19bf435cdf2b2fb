"""The house format as a CommonMark reader sees it: for any title and any http(s) link, an article's
`[TITLE](URL)` line and a list line are exactly one link, to exactly that URL, and read back to
exactly that title and link; a body is one raw HTML block; ordinary titles stay byte-identical."""

from __future__ import annotations

import re
import urllib.parse

import ada_url
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from newsmirror.archive import safe_name
from newsmirror.config import Mirror, title_problem
from newsmirror.model import Article
from newsmirror.render.links import safe_link
from newsmirror.render.markdown import (
    WRAP_OPEN,
    article,
    list_page,
    mirrors_block,
    one_line,
    read_article,
    read_link,
    readme,
)

T = 1715117943000  # 2024-05-08 in UTC+8


class Reader(MarkdownIt):
    """CommonMark (with GFM tables and strikethrough), giving each link's destination as the
    reader reads it (escapes undone, references decoded), before markdown-it percent-encodes it
    for its HTML output."""

    def __init__(self) -> None:
        super().__init__("commonmark")
        self.enable(["table", "strikethrough"])

    def normalizeLink(self, url: str) -> str:
        return url


READER = Reader()
TRICKY = "[]()\\`<>&;#!*_~|-=:/\"' \t\n\r"  # what Markdown and the reader's split could trip on
titles = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8"))).map(one_line)
URL_TRICKY = "()[]\\`&;#?/=%<>{}|^~*_!$'\"@:,. "
hosts = st.sampled_from(["news.example", "127.0.0.1:8080", "[::1]", "u(s:p)@host.example", "xn--fiqs8s.example"])


def _serialized(scheme: str, host: str, rest: str) -> str:
    try:
        return ada_url.normalize_url(f"{scheme}://{host}/{rest}")
    except ValueError:
        return ""


# WHATWG-serialized http(s) URLs, with `(`, `)`, `\`, `](`, `[` and entity-like text in their paths, queries, fragments.
links = st.builds(_serialized, st.sampled_from(["http", "https", "HTTPS"]), hosts,
                  st.text(st.one_of(st.sampled_from(URL_TRICKY), st.characters(codec="utf-8")))).filter(bool)


def links_in(tokens: list[Token]) -> list[list[Token]]:
    """For each inline block (one per source line here), its links' opening tokens."""
    return [[c for c in t.children or [] if c.type == "link_open"] for t in tokens if t.type == "inline"]


def inline_kinds(tokens: list[Token]) -> set[str]:
    return {c.type for t in tokens if t.type == "inline" for c in t.children or []}


@settings(max_examples=400, deadline=None)
@given(title=titles, url=links)
@example(title="a](javascript:alert(1))", url="http://x.example/a)%20[click](javascript:alert(1))")
@example(title="<img src=x onerror=alert(1)>", url="http://x.example/?a&amp;b=\\")
@example(title="C:\\Users \\[x] &lt; `code` ~1~ *a* _b_ <0@a.b>", url="http://x.example/(a)(b(c))")
@example(title="[视频] 结尾的反斜杠\\", url="http://x.example/a](b(" + "(" * 40 + ")" * 40)
@example(title="深", url="http://x.example/" + "(" * 33 + ")" * 33)  # deeper than readers accept unescaped
def test_any_title_and_link_is_one_link_read_back_exactly(title, url):
    assert safe_link(url) == url
    text = article(Article("voa", 1048574, title, url, T, "<p>正文。</p>"))
    parsed = read_article(text)
    assert parsed is not None and parsed[1:3] == (title, url)
    tokens = READER.parse(text)
    found = links_in(tokens)
    assert [len(x) for x in found] == [1], text  # one inline block (the heading), one link
    assert found[0][0].attrGet("href") == url
    assert not inline_kinds(tokens) & {"html_inline", "code_inline", "image"}
    assert [t.type for t in tokens if t.map and t.level == 0] == ["html_block", "heading_open", "html_block"]

    listing = list_page("美国之音", [Article("voa", n, title, url, T, "") for n in (1048574, 1048573)])
    lines = listing.split("\n")[3::2][:2]
    assert [read_link(line.split(" ", 1)[1]) for line in lines] == [
        (title, "/articles/voa/1048574.md"), (title, "/articles/voa/1048573.md")]
    found = links_in(READER.parse(listing))
    assert [[a.attrGet("href") for a in x] for x in found] == [
        [], ["/articles/voa/1048574.md"], ["/articles/voa/1048573.md"]]


@given(st.text(st.one_of(st.sampled_from(" \t\n\r\f\v\x85\u2028\u3000ax"), st.characters(codec="utf-8")), max_size=40))
def test_one_line_is_the_rule_it_always_was(text):
    stripped = text.strip()
    assert one_line(text) == re.sub(r"\s*[\r\n]+\s*", " ", stripped)


def test_ordinary_titles_and_links_are_written_as_the_original_mirror_wrote_them():
    ordinary = ["美国之音：3~5月 *独家* 专访_上", "“拉法”行动(更新) 100% 确认!", "A&B 公司 a < b", "C:\\Users\\新闻"]
    url = "https://zh.wikipedia.org/wiki/%E6%8B%89%E6%B3%95_(%E5%9F%8E%E5%B8%82)?a=1&b=2#x"
    for title in ordinary:
        assert article(Article("voa", 1, title, url, T, "<p>x</p>")).split("\n")[1] == f"[{title}]({url})"
    assert list_page("美国之音", [Article("voa", 1048574, "文章1", url, T, "")]) == \
        "美国之音\n------\n\n5-8 [文章1](/articles/voa/1048574.md)\n\n"
    assert readme(["美国之音 (VOA)"], ["美国之音 (VOA)"]) == ("抓取新闻媒体文章\n------\n\n<!-- newsmirror:begin -->\n"
                                                        "[美国之音 (VOA)](lists/美国之音%20%28VOA%29.md)\n<!-- newsmirror:end -->\n")


def test_files_of_the_original_mirror_are_read_as_they_are():
    """It wrote titles raw: brackets, `](` and backslashes are the title's own."""
    for title, link in [("[视频] 拉法](停火", "https://x.example/a"), ("a\\*b ] c", "https://x.example/(a)"),
                        ("[[x]]", "https://x.example/?q=[1]")]:
        assert read_article(f"<!--{T}-->\n[{title}]({link})\n------\n\n<p>x</p>\n") == (T, title, link, "<p>x</p>")


def test_a_title_with_line_breaks_is_read_as_the_original_mirror_wrote_it():
    """Deutsche Welle's feed put line breaks in titles, and the original mirror wrote them as they were."""
    text = "<!--1715083200000-->\n[德语媒体：北京的快速回应\n\n](https://www.dw.com/zh/a-69016745)\n------\n\n<p>正文</p>\n"
    assert read_article(text) == (1715083200000, "德语媒体：北京的快速回应\n\n", "https://www.dw.com/zh/a-69016745", "<p>正文</p>")
    assert read_article(text.replace("\n", "\r\n")) == read_article(text)  # checked out on Windows (autocrlf)


# newsmirror's own escapes, undone when a header is in the shape newsmirror writes: a title (or a
# link) of the original mirror that holds one is read as newsmirror's (the one ambiguity of the
# house format).
OWN_ESCAPES = re.compile(r"\\[\\\[\]`<&()]|&#92;")
raw_titles = st.lists(st.one_of(st.sampled_from([*TRICKY, "\n------\n\n", "](https://x.example/)\n------\n"]),
                                st.characters(codec="utf-8"))).map("".join)


@settings(max_examples=400, deadline=None)
@given(title=raw_titles.filter(lambda t: not OWN_ESCAPES.search(t)),
       url=links.filter(lambda u: "](" not in u and not OWN_ESCAPES.search(u)),
       body=st.text(st.characters(codec="utf-8", blacklist_characters="\r\n")))
@example(title="a](https://x.example/)\n------\n\n<p>b</p>", url="https://x.example/", body="<p>c</p>")
@example(title="[[x]] \\“引号\\“ ] (", url="https://x.example/(a)", body="")
@example(title="\r\n\n", url="https://x.example/", body="------")
def test_every_title_the_original_mirror_could_write_is_read_back(title, url, body):
    """It wrote `<!--T-->\\n[TITLE](LINK)\\n------\\n\\nBODY\\n` with the title as the feed gave it."""
    assert read_article(f"<!--{T}-->\n[{title}]({url})\n------\n\n{body}\n") == (T, title, url, body)


@given(body=st.text(st.characters(codec="utf-8", blacklist_characters="\r\n")))
@example(body="[x](javascript:alert(1)) 文字")
@example(body="<b>粗体</b><a href=\"javascript:alert(1)\">x</a> [x](javascript:alert(1))")
@example(body=WRAP_OPEN + "x</div>")
@example(body="<div><i>Tue, 07 May 2024 21:39:03 GMT</i></div><p>x</p>")
@example(body="<p>x</p>\u2028[x](javascript:alert(1))")
def test_every_body_is_one_html_block_and_reads_back(body):
    text = article(Article("voa", 1, "标题", "https://x.example/", T, body))
    assert read_article(text) == (T, "标题", "https://x.example/", body)
    tokens = READER.parse(text)
    assert len(links_in(tokens)) == 1 and len(links_in(tokens)[0]) == 1  # the header's, never one in the body
    if body:
        assert tokens[-1].type == "html_block" and tokens[-1].map == [4, 5]


def test_bodies_that_open_a_block_are_written_unchanged():
    for body in ("<p>x</p>", "<div><i>d</i></div><img src=\"a\">", "<FIGURE class=a><img></figure>", "<h2>t</h2>",
                 "<blockquote cite=\"https://x\">q</blockquote>", "<hr/><p>x</p>", "<p", ""):
        assert article(Article("voa", 1, "t", "https://x.example/", T, body)).split("\n")[4] == body
    for body in ("<b>x</b>", "文字", "<img src=x>", "<pre>x</pre>", "<param-x>", " <p>x</p>", WRAP_OPEN + "x"):
        assert article(Article("voa", 1, "t", "https://x.example/", T, body)).split("\n")[4] == f"{WRAP_OPEN}{body}</div>"


@given(titles.filter(bool))
@example("C#新闻 100% (VOA) [直播] &amp;")
def test_a_readme_link_reaches_its_list_whatever_the_feed_is_called(title):
    name = safe_name(title)
    found = links_in(READER.parse(readme([title], [name])))
    assert [len(x) for x in found] == [0, 1]  # the heading, then the one link
    path = urllib.parse.unquote(urllib.parse.urlsplit(found[1][0].attrGet("href")).path)  # as a browser reads it
    assert path == f"lists/{name}.md"


ORIGINAL_README = ("抓取新闻媒体文章\n------\n\n[纽约时报](lists/纽约时报.md)\n\n[美国之音](lists/美国之音.md)\n\n"
                   "鸣谢\n------\n\nhttps://feedx.net/\n")


def test_a_readme_keeps_its_own_text_and_only_the_list_is_rewritten():
    adopted = readme(["美国之音", "德国之声"], ["美国之音", "德国之声"], ORIGINAL_README)
    assert adopted == ("抓取新闻媒体文章\n------\n\n<!-- newsmirror:begin -->\n[美国之音](lists/美国之音.md)\n\n"
                       "[德国之声](lists/德国之声.md)\n<!-- newsmirror:end -->\n\n鸣谢\n------\n\nhttps://feedx.net/\n")
    assert readme(["美国之音", "德国之声"], ["美国之音", "德国之声"], adopted) == adopted  # nothing changes a second time
    edited = adopted.replace("鸣谢", "致谢").replace("[德国之声](lists/德国之声.md)", "[旧链接](lists/旧.md)")
    assert readme(["美国之音", "德国之声"], ["美国之音", "德国之声"], edited) == adopted.replace("鸣谢", "致谢")


def test_a_readme_without_a_list_gets_the_marked_list_at_its_end():
    assert readme(["美国之音"], ["美国之音"], "# 我的镜像\n\n说明") == (
        "# 我的镜像\n\n说明\n\n<!-- newsmirror:begin -->\n[美国之音](lists/美国之音.md)\n<!-- newsmirror:end -->\n")


def link_texts(tokens: list[Token]) -> list[tuple[str, str]]:
    """(text, href) of every link, the text as the reader shows it."""
    found, text, href = [], None, ""
    for child in (c for t in tokens if t.type == "inline" for c in t.children or []):
        if child.type == "link_open":
            text, href = "", str(child.attrGet("href"))
        elif child.type == "link_close" and text is not None:
            found.append((text, href))
            text = None
        elif text is not None:
            text += child.content
    return found


@settings(max_examples=300, deadline=None)
@given(name=titles.filter(lambda n: title_problem(n) is None), url=links)
@example(name="Git*Hub* _备份_ ] [x](javascript:alert(1)) <b> &amp; \\", url="https://e.example/a)b<c")
@example(name="| a | b |", url="https://en.wikipedia.org/wiki/A_(b)")
def test_a_mirror_s_name_and_address_are_shown_exactly_at_a_list_s_foot(name, url):
    foot = mirrors_block([Mirror(name, url), Mirror(name, "git@codeberg.org:you/news.git")])
    page = list_page("美国之音", [Article("voa", 1048574, "标题", "https://x.example/", T, "")], foot=foot)
    assert page.startswith(list_page("美国之音", [Article("voa", 1048574, "标题", "https://x.example/", T, "")]))
    tokens = READER.parse(page)
    assert [t.content for t in tokens if t.type == "inline"][-3] == "全部镜像"  # a heading of its own
    assert link_texts(tokens)[-1] == (name, url)
    assert not inline_kinds(tokens) & {"html_inline", "image", "em_open", "strong_open", "s_open"}
    last = [t for t in tokens if t.type == "inline"][-1].children or []
    assert [c.type for c in last][-1] == "code_inline" and last[-1].content == "git@codeberg.org:you/news.git"
    assert "".join(c.content for c in last[:-1]) == f"{name}："


def test_no_mirror_adds_nothing_and_a_readme_lists_them_after_its_lists():
    assert mirrors_block([]) == ""
    foot = mirrors_block([Mirror("GitHub", "https://github.com/you/news")], "全部鏡像")
    page = readme(["美国之音"], ["美国之音"], None, foot)
    assert page == ("抓取新闻媒体文章\n------\n\n<!-- newsmirror:begin -->\n[美国之音](lists/美国之音.md)\n\n"
                    "全部鏡像\n------\n\n[GitHub](https://github.com/you/news)\n<!-- newsmirror:end -->\n")
    assert readme(["美国之音"], ["美国之音"], page, foot) == page  # rewritten in place, never added twice
    assert readme(["美国之音"], ["美国之音"], page) == readme(["美国之音"], ["美国之音"])  # mirrors removed: gone
    assert link_texts(READER.parse(page)) == [("美国之音", "lists/美国之音.md"), ("GitHub", "https://github.com/you/news")]
