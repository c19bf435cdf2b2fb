"""Cleaning bodies: what is kept byte for byte, what is rewritten, what is removed."""

from __future__ import annotations

import re

import pytest
from support import FIXTURES

from newsmirror.clean import (
    _CLEANER,
    _edge,
    _for_sanitizer,
    best_srcset,
    clean,
    fold,
    image_urls,
)
from newsmirror.config import ImageSettings
from newsmirror.htmltokens import MAX_DEPTH, bound_nesting, split
from newsmirror.images import rewriter

PROXY = rewriter(ImageSettings())


def test_markup_the_sanitizer_keeps_is_written_exactly_as_received():
    body = '<p class="x">甲<br />乙&nbsp;丙 &amp; 丁 &#8220;引&#8221;</p><img src=\'https://images.weserv.nl?url=a.jpg\' width="100%">'
    assert clean(body, "https://voa.example/a", PROXY) == ('<p>甲<br />乙&nbsp;丙 &amp; 丁 &#8220;引&#8221;</p>'
                                                         '<img src=\'https://images.weserv.nl?url=a.jpg\' width="100%">')


@pytest.mark.parametrize(("body", "expected"), [
    # nh3 closes the <p> before the <div>: the </p> it adds is not the source's </p> further on
    ("<p>a<div>b</div><br/><a href='https://x.example/'>y</a>&amp;</p><p>c<br/>d</p>",
     "<p>a</p><div>b</div><br/><a href='https://x.example/'>y</a>&amp;<p></p><p>c<br/>d</p>"),
    ("<table><tr><td>a<td>b</table><br/><table><tr><td>c</td></tr></table><br/>",
     "<table><tbody><tr><td>a</td><td>b</td></tr></tbody></table><br/><table><tbody><tr><td>c</td></tr></tbody></table><br/>"),
    ("<ul><li>a<li>b</ul><i class=x>c</i><br /><li>d</li>",
     "<ul><li>a</li><li>b</li></ul><i>c</i><br /><li>d</li>"),
])
def test_only_the_tags_the_sanitizer_changes_take_its_spelling(body, expected):
    assert clean(body) == expected


def test_golden_full_content_body_comes_through_byte_exact():
    feed = (FIXTURES / "golden/feedx/feed.xml").read_text(encoding="utf-8")
    body = feed.split("<![CDATA[", 1)[1].split("]]>", 1)[0]
    expected = (FIXTURES / "golden/feedx/expected-article.md").read_text(encoding="utf-8").split("\n")[4]
    assert clean(body, "https://www.voachinese.com/a/x.html", PROXY) == expected


def test_line_breaks_at_tag_boundaries_vanish_and_between_words_become_a_space():
    assert clean("<p>\n  one\n  two\n</p>\n<p>三</p>") == "<p>one two</p><p>三</p>"
    assert clean("<pre>a\n  b</pre>") == "<pre>a&#10;  b</pre>"
    assert clean("<p>word\n<b>bold</b></p>") == "<p>word <b>bold</b></p>"


def test_scripts_handlers_and_dangerous_urls_are_removed():
    dirty = ('<p onclick="steal()">x<script>alert(1)</script><style>p{}</style>'
             '<a href="javascript:alert(1)">j</a><iframe src="javascript:alert(1)"></iframe>'
             '<img src="x.jpg" onerror="alert(1)"></p>')
    assert clean(dirty, "https://s.example/", lambda u: u) == '<p>x<a>j</a><img src="https://s.example/x.jpg"></p>'


def test_markup_inside_a_script_is_text_never_rewritten_and_never_swallows_what_follows():
    body = '<p>a</p><script>var s = "<img src=/x.jpg><!--";</script><p>重要</p>'
    assert image_urls(body, "https://s.example/") == []
    assert clean(body, "https://s.example/") == "<p>a</p><p>重要</p>"
    assert clean("<p>一<!-- 注释 -->二</p>") == "<p>一二</p>"


def test_style_keeps_only_harmless_properties():
    assert clean('<span style="color: red; position: fixed">x</span>') == '<span style="color:red">x</span>'


def test_links_and_images_are_made_absolute_and_images_proxied():
    out = clean('<p><a href="/n/2.html">下一篇</a><img src="//cdn.example/p.jpg"></p>', "https://site.example/a/1.html", PROXY)
    assert out == ('<p><a href="https://site.example/n/2.html">下一篇</a>'
                   '<img src="https://images.weserv.nl?url=cdn.example/p.jpg"></p>')


def test_lazy_images_use_the_real_image_not_the_placeholder():
    body = ('<img src="data:image/gif;base64,R0lGOD" data-src="/real1.jpg">'
            '<img src="/img/placeholder.png" data-original="/real2.jpg">'
            '<img srcset="/s.jpg 320w, /l.jpg 1024w, /m.jpg 640w">'
            '<picture><source srcset="/p-small.webp 1x, /p-big.webp 2x"><img src="data:image/gif;base64,R0l"></picture>'
            '<img data-lazy-src="/real3.jpg"><noscript><img src="/real3.jpg"></noscript>')
    assert image_urls(body, "https://s.example/") == [
        "https://s.example/real1.jpg", "https://s.example/real2.jpg", "https://s.example/l.jpg",
        "https://s.example/p-big.webp", "https://s.example/real3.jpg"]
    assert clean(body, "https://s.example/").count("<img") == 5  # the <noscript> twin is dropped


def test_tracking_pixels_are_dropped():
    body = ('<p>x<img src="https://feeds.feedburner.com/~r/a/~4/b" width="1" height="1">'
            '<img src="https://stats.wordpress.com/b.gif?x=1"><img src="https://s.example/1x1.gif" width="1" height="1"></p>')
    assert clean(body, "https://s.example/") == "<p>x</p>"


def test_a_url_already_behind_a_proxy_is_not_wrapped_again():
    body = '<img src="https://wsrv.nl/?url=a.example/p.jpg"><img src="https://a.example/v.jpg">'
    assert clean(body, "", PROXY) == ('<img src="https://wsrv.nl/?url=a.example/p.jpg">'
                                       '<img src="https://images.weserv.nl?url=a.example/v.jpg">')


@pytest.mark.parametrize(("body", "expected"), [
    ('<p>前</p><iframe src="//www.youtube.com/embed/x1" title=" 拜登\n讲话 " allowfullscreen></iframe><p>后</p>',
     '<p>前</p><p><a href="https://www.youtube.com/embed/x1">视频：拜登 讲话</a></p><p>后</p>'),
    ('<p><iframe src="/player/1?a=1&amp;b=2"></iframe></p>',  # alone in its paragraph: no second one
     '<p><a href="https://voa.example/player/1?a=1&amp;b=2">视频：voa.example</a></p>'),
    ('<video poster="p.jpg" controls><source src="rtmp://x/1"><source src="/v/1.mp4"><a href="/v/1.mp4">下载</a></video>',
     '<p><a href="https://voa.example/v/1.mp4">视频：voa.example</a></p>'),
    ('<audio src="https://a.example/1.mp3" controls>不支持音频</audio>', '<p><a href="https://a.example/1.mp3">音频：a.example</a></p>'),
    ('<object><param name="movie" value="http://www.youtube.com/v/x2"><embed src="http://www.youtube.com/v/x2"></object>',
     '<p><a href="http://www.youtube.com/v/x2">视频：www.youtube.com</a></p>'),
    ('<embed src="https://e.example/p" type="application/x-shockwave-flash">', '<p><a href="https://e.example/p">视频：e.example</a></p>'),
    ('<iframe data-src="https://e.example/lazy" src="about:blank"></iframe>', '<p><a href="https://e.example/lazy">视频：e.example</a></p>'),
])
def test_an_embed_becomes_a_plain_link_to_its_source(body, expected):
    assert clean(body, "https://voa.example/a/1.html") == expected


@pytest.mark.parametrize(("body", "expected"), [
    ('<iframe src="https://y.example/e/1"></iframe><noscript><a href="https://y.example/e/1">看视频</a></noscript>',
     '<a href="https://y.example/e/1">看视频</a>'),
    ('<a href="/v.mp4">下载视频</a> <video src="/v.mp4"></video>', '<a href="https://voa.example/v.mp4">下载视频</a>'),
    ('<iframe src="javascript:alert(1)"></iframe><iframe></iframe><video controls>不支持</video><object width="1">',
     ""),
    ('<iframe src="https://y.example/e/2">never closed <p>a browser shows none of this</p>', '<p><a href="https://y.example/e/2">视频：y.example</a></p>'),
])
def test_an_embed_is_linked_once_and_only_when_it_has_an_http_source(body, expected):
    assert clean(body, "https://voa.example/a/1.html") == expected


def test_malformed_html_never_crashes_and_is_balanced():
    for junk in ["<p><b>unclosed", "</div></div>text<", "<<>>", "<img src=", "<a href='x>y</a>", "\x00<p>\x00</p>"]:
        out = clean(junk, "https://s.example/")
        assert "<script" not in out and "\n" not in out


def test_best_srcset_candidate():
    assert best_srcset("a.jpg 1x, b.jpg 3x, c.jpg 2x") == "b.jpg"
    assert best_srcset("only.jpg") == "only.jpg"


# --- what the sanitizer lets through -------------------------------------------------------------

@pytest.mark.parametrize("body", [
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    '<q cite=" JaVa&#9;ScRiPt:alert(1)">q</q>',
    '<blockquote cite="vbscript:msgbox(1)">q</blockquote>',
    '<blockquote cite="data:text/html,&lt;script&gt;">q</blockquote>',
    '<video src="javascript:alert(1)"></video>',
    '<iframe src=" JaVa&#9;ScRiPt:alert(1)"></iframe>',
    '<a href="mailto:editor@example.org">q</a>',
    '<a href="java\nscript:alert(1)">q</a>',
    '<img src="data:image/png;base64,AAAA">',
])
def test_only_http_or_relative_urls_survive_in_any_url_attribute(body):
    out = clean(body, "", lambda u: u)
    assert not any(word in out.lower() for word in ("javascript", "vbscript", "data:", "mailto", "cite=", "poster=", "href=", "src="))


def test_http_and_relative_urls_in_cite_are_kept_as_written():
    body = '<blockquote cite="https://s.example/source">q</blockquote><q cite="../../notes/1.html">r</q>'
    assert clean(body, "", lambda u: u) == body


@pytest.mark.parametrize("style", [
    "color: expression(alert(1))", "background-color: url(javascript:alert(1))", "color: red !important",
    "color: red /* x */", "font-weight: bold; behavior: url(x.htc)", "text-align: -moz-center",
    "color: rgb(expression(1), 0, 0)", "col\\6fr: red",
])
def test_style_values_off_the_short_list_are_dropped(style):
    out = clean(f'<span style="{style}">x</span>')
    assert "expression" not in out and "url(" not in out and "important" not in out and "/*" not in out
    assert out in ("<span>x</span>", '<span style="font-weight:bold">x</span>')


@pytest.mark.parametrize("style", ["", " ; ", "position: fixed", "color: expression(1)"])
def test_a_style_that_says_nothing_allowed_is_no_attribute(style):
    assert clean(f'<p style="{style}">x</p>') == "<p>x</p>"


def test_style_values_on_the_short_list_are_written_as_received():
    body = ('<p style="text-align: center; color: #C00">x</p><span style="font-weight:700;font-style:italic">'
            '<b style="text-decoration: underline line-through; background-color: rgba(255, 0, 0, 0.5)">y</b>'
            '</span><i style="color: DarkRed">z</i>')
    assert clean(body) == body
    assert clean('<small style="color: #999;">cap</small>') == '<small style="color: #999;">cap</small>'


# --- hostile bodies ------------------------------------------------------------------------------

def depth(html: str) -> int:
    """Nesting depth of nh3's well-formed output."""
    best = level = 0
    for m in re.finditer(r"<(/?)([a-z0-9]+)[^>]*>", html):
        if m.group(1):
            level -= 1
        elif m.group(2) not in ("br", "img", "hr", "col"):
            level += 1
            best = max(best, level)
    return best


@pytest.mark.timeout(30)
def test_deep_nesting_is_cut_at_the_bound_and_the_text_kept():
    body = "<div>" * 100_000 + "深处的文字" + "</div>" * 100_000
    out = clean(body)
    assert "深处的文字" in out and depth(out) <= MAX_DEPTH


@pytest.mark.parametrize("unit", ["<p>段落", "<li>项目", "<td>格", "<option>选项", "<dd>释义<dt>词", "<p><b>粗</b>文"])
def test_hundreds_of_unclosed_elements_browsers_do_not_nest_are_no_deep_nesting(unit):
    pieces = split(unit * 400)
    assert bound_nesting(pieces) == pieces


def test_breaking_up_a_long_run_of_ampersands_changes_nothing_nh3_writes():
    body = "<p>" + "a & b &amp c &#x &nbsp &" * 300 + "</p><p title='&&'>" + "&" * 2000 + "</p>"
    assert _CLEANER.clean(_for_sanitizer(split(body), body)) == _CLEANER.clean(body)
    assert clean(body) == body


def test_attribute_values_are_decoded_as_a_browser_decodes_them():
    out = clean('<a href="/list?a=1&region=cn&not=2&amp;x=3">x</a>', "https://s.example/")
    assert out == '<a href="https://s.example/list?a=1&amp;region=cn&amp;not=2&amp;x=3">x</a>'


def test_a_tag_cut_off_by_the_end_of_the_body_is_no_tag():
    assert image_urls('<p>x</p><img src="/a.jpg"', "https://s.example/") == []
    assert clean('<p>x</p><img src="/a.jpg"', "https://s.example/") == "<p>x</p>"


def test_fold_gives_what_the_former_patterns_gave():
    def former(text: str, prev: str | None, nxt: str | None) -> str:
        text = re.sub(r"^[ \t\f]*[\r\n]\s*", _edge(prev, text, True), text)
        text = re.sub(r"\s*[\r\n]\s*$", _edge(nxt, text, False), text)
        return re.sub(r"[ \t\f]*[\r\n]\s*", " ", text)

    samples = ["a \n b", " \n\t a \r\n\n b \u3000\n c \n ", "a\u3000 \nb", "\r\nx\r", "a\x0b\nb  \n", "x \n\u00a0y"]
    for text in samples:
        for prev, nxt in ((None, None), ("<b>", "<i>"), ("<p>", "</p>")):
            pieces = [p for p in (prev, text, nxt) if p]
            expected = "".join(former(p, prev, nxt) if p is text else p for p in pieces).strip()
            assert fold(pieces) == expected, text


@pytest.mark.parametrize(("body", "cleaned"), [
    ('<p>图<img src="jav&#x09;ascript:x">文</p>', "<p>图文</p>"),  # an image no reader may load goes whole
    ("<dd><section><dd>项", "<dd></dd><dd>项</dd>"),  # a dropped tag's content, read as a browser reads it
    ("<a><table><a>", "<a></a><a></a><table></table>"),
])
def test_a_cleaned_body_cleans_to_itself(body, cleaned):
    """A body kept for a later pass is cleaned again; it must not change (nor look edited)."""
    assert clean(body) == cleaned
    assert clean(cleaned) == cleaned
