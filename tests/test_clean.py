"""Cleaning bodies: what is kept byte for byte, what is rewritten, what is removed."""

from __future__ import annotations

from newsmirror.clean import best_srcset, clean, image_urls
from newsmirror.config import ImageSettings
from newsmirror.images import rewriter
from support import FIXTURES

PROXY = rewriter(ImageSettings())


def test_markup_the_sanitizer_keeps_is_written_exactly_as_received():
    body = '<p class="x">甲<br />乙&nbsp;丙 &amp; 丁 &#8220;引&#8221;</p><img src=\'https://images.weserv.nl?url=a.jpg\' width="100%">'
    assert clean(body, "https://voa.example/a", PROXY) == '<p>甲<br />乙&nbsp;丙 &amp; 丁 &#8220;引&#8221;</p><img src=\'https://images.weserv.nl?url=a.jpg\' width="100%">'


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
             '<a href="javascript:alert(1)">j</a><iframe src="https://evil"></iframe>'
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
    body = '<img src="https://wsrv.nl/?url=a.example/p.jpg"><video poster="https://a.example/v.jpg"></video>'
    assert clean(body, "", PROXY) == ('<img src="https://wsrv.nl/?url=a.example/p.jpg">'
                                       '<video poster="https://images.weserv.nl?url=a.example/v.jpg"></video>')


def test_malformed_html_never_crashes_and_is_balanced():
    for junk in ["<p><b>unclosed", "</div></div>text<", "<<>>", "<img src=", "<a href='x>y</a>", "\x00<p>\x00</p>"]:
        out = clean(junk, "https://s.example/")
        assert "<script" not in out and "\n" not in out


def test_best_srcset_candidate():
    assert best_srcset("a.jpg 1x, b.jpg 3x, c.jpg 2x") == "b.jpg"
    assert best_srcset("only.jpg") == "only.jpg"
