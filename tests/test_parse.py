"""Reading feeds: every format, the body before the summary, images, dates, encodings, refused
entity expansion, and the fast path giving exactly what the feedparser fallback gives."""

from __future__ import annotations

import codecs
import html
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from feedparser.urls import _urljoin
from lxml import etree

from newsmirror import parse_fast
from newsmirror.parse import NotAFeed, parse

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
GOLDEN = Path(__file__).parent / "fixtures" / "golden"
DEMO = Path(__file__).parents[1] / "src" / "newsmirror" / "demo"
URL = "https://feeds.example.org/dir/feed.xml"


def read(name: str, url: str = URL, content_type: str | None = None, tz: str = "Asia/Shanghai"):
    return parse((FEEDS / name).read_bytes(), url, content_type, tz)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def fallback(data: bytes, url: str = URL, tz: str = "UTC"):
    """What parse gives when the fast path declines everything: feedparser's reading."""
    with mock.patch.object(parse_fast, "parse", lambda *args: None):
        return parse(data, url, None, tz)


def took_fast_path(data: bytes) -> bool:
    real, answers = parse_fast.parse, []
    with mock.patch.object(parse_fast, "parse", lambda *args: answers.append(real(*args)) or answers[-1]):
        parse(data, URL)
    return any(a is not None for a in answers)


# --- formats -------------------------------------------------------------------------------------

def test_rss20_like_voa():
    feed = read("rss20-voa.xml")
    assert feed.title == "美国之音中文网 - 美国"  # stripped
    assert feed.link == "https://www.voachinese.com/z/1739"
    assert feed.ttl_minutes == 60 and feed.warning is None
    first, second = feed.entries
    assert first.title == "以色列占领拉法过境点加沙一侧"
    assert first.guid == "https://www.voachinese.com/a/7601848.html"
    assert first.link == "https://www.voachinese.com/a/israel-rafah-20240507/7601848.html"
    assert first.published == ms("2024-05-07T21:14:35+00:00")
    assert first.author == "美国之音中文部"
    assert first.summary == "<p>以色列军队周二控制了拉法过境点的加沙一侧。</p>"
    assert first.content is None
    assert second.guid == "7601849"  # isPermaLink="false": not a link, not resolved
    assert second.link == "https://www.voachinese.com/a/human-rights-report/7601849.html?utm_source=rss&b=2"
    assert second.author == "editor@voachinese.com (王凡)"


def test_rss10_rdf():
    feed = read("rdf-rss10.xml")
    assert feed.title == "RSS 1.0 feed" and feed.subtitle == "An RDF channel"
    assert feed.updated == ms("2024-05-07T10:00:00+09:00")
    (entry,) = feed.entries
    assert entry.guid == "https://example.jp/news/1"  # rdf:about
    assert entry.content == "<p>Body of the first news.</p>"
    assert entry.summary == "Summary of the first news."
    assert entry.author == "Yamada" and entry.published == ms("2024-05-07T09:30:00+09:00")


def test_rss091_with_netscape_doctype_and_latin1():
    feed = read("rss091.xml")
    assert feed.title == "Café news"
    assert [e.title for e in feed.entries] == ["Crème brûlée"]
    assert feed.entries[0].summary == "Dessert & more"


def test_atom10():
    feed = read("atom10.xml")
    assert feed.title == "Atom 1.0 feed" and feed.link == "https://blog.example.net/"
    assert feed.subtitle == "Subtitle with <i>markup</i>"
    assert feed.id == "tag:blog.example.net,2024:feed" and feed.author == "Li Hua (li@example.net)"
    rock, updated_only = feed.entries
    assert rock.title == "Rock &amp; roll"  # type="html": the title stays HTML
    assert rock.link == "https://feeds.example.org/2024/05/rock.html"  # relative, against the feed URL
    assert rock.published == ms("2024-05-07T08:00:00+08:00") and rock.updated == ms("2024-05-08T08:00:00+08:00")
    assert rock.content == "<p>Full <b>content</b></p>"
    assert rock.summary == "Plain &lt;summary&gt; &amp; text"  # type="text" is escaped into HTML
    assert rock.image == "https://cdn.example.net/rock.png"  # <link rel="enclosure" type="image/png">
    assert updated_only.published == updated_only.updated == ms("2024-05-06T00:00:00+00:00")
    assert updated_only.guid == "https://blog.example.net/?p=2"


def test_atom10_xhtml_content_loses_its_wrapper_div():
    (entry,) = read("atom10-xhtml.xml").entries
    assert entry.content == "<p>An <em>inline</em> body &amp; more.</p>"


def test_atom03():
    feed = read("atom03.xml")
    assert feed.subtitle == "An old tagline" and feed.updated == ms("2004-01-01T19:48:21+00:00")
    (entry,) = feed.entries
    assert entry.content == "<p>Hello from 2004</p>"
    assert entry.published == ms("2004-01-01T12:00:00-05:00") and entry.author == "Mark"


def test_json_feed_11():
    feed = read("jsonfeed11.json", content_type="application/feed+json")
    assert feed.title == "JSON Feed 1.1" and feed.link == "https://json.example.org/"
    assert feed.subtitle == "Plain text &lt;not markup&gt;" and feed.author == "Feed Author"
    html_item, text_item = feed.entries
    assert html_item.guid == "2" and html_item.link == "https://feeds.example.org/posts/2"
    assert html_item.content == "<p>Hello <b>JSON</b></p>" and html_item.summary == "A summary"
    assert html_item.image == "https://feeds.example.org/img/2.jpg" and html_item.author == "Item Author"
    assert html_item.published == ms("2024-05-07T21:14:35+00:00")
    assert text_item.guid == "1"  # a number in the wild
    assert text_item.content == "Fish &amp; chips &lt; 5"
    assert text_item.published == text_item.updated == ms("2018-09-18T14:38:10+08:00")
    assert text_item.image == "https://json.example.org/1.png"


def test_json_feed_10_without_content_type():
    feed = read("jsonfeed10.json")
    assert feed.author == "Old Author"
    assert feed.entries[0].author == "Item Author" and feed.entries[0].content == "<p>Body</p>"


# --- bodies, links, images -----------------------------------------------------------------------

def test_the_body_comes_first_and_the_summary_stays():
    full, body_only, summary_only = read("rss20-content-encoded.xml").entries
    assert full.content.startswith("<p>The whole article") and full.summary == "A short summary."
    assert body_only.content == "<p>Only a body.</p>" and body_only.summary is None
    assert summary_only.content is None and summary_only.summary == "Fish &amp; chips at 5 < 6"


def test_a_second_description_is_the_body():
    (entry,) = read("two-descriptions.xml").entries
    assert entry.summary == "First, a summary."
    assert entry.content == "<p>Second, taken for the content.</p>"


def test_scripts_never_reach_the_body():
    second = read("rss20-voa.xml").entries[1]
    assert second.summary == "<p>报告指出……</p>"


def test_images_from_enclosures_and_media_rss():
    content, thumbnail, audio = read("media-rss.xml").entries
    assert content.image == "https://media.example.org/1.jpg"
    assert thumbnail.image == "https://feeds.example.org/thumbs/2.jpg"  # inside media:group, made absolute
    assert audio.image is None
    assert read("rss20-voa.xml").entries[0].image.endswith("_w800_h450.jpg")


def test_links_are_absolute_whatwg_and_guids_can_be_links():
    rel, permalink_guid, opaque_guid, spaced = read("relative-links.xml").entries
    assert rel.link == "https://feeds.example.org/news/1.html"
    assert permalink_guid.link == "https://rel.example.org/news/2.html"
    assert opaque_guid.link is None and opaque_guid.guid == "news-3"
    assert spaced.link == "https://rel.example.org/news/a%20b.html"


@pytest.mark.parametrize("empty", ["<link></link>", "<link/>", "<link>  </link>", "<atom:link/>"])
def test_an_empty_link_does_not_keep_a_permalink_guid_from_being_the_link(empty):
    items = (f"<item><title>a</title>{empty}<guid>https://item.example/1</guid></item>"
             f'<item><title>b</title>{empty}<guid isPermaLink="false">https://item.example/2</guid></item>')
    data = f'<rss version="2.0" {NAMESPACES}><channel><title>c</title>{items}</channel></rss>'.encode()
    for feed in (parse(data, URL, None, "UTC"), fallback(data)):
        assert [e.link for e in feed.entries] == ["https://item.example/1", None]


def test_a_json_feed_item_without_url_is_linked_by_an_http_id():
    items = [{"id": "https://json.example.org/p/1"}, {"id": "tag:json.example.org,2024:2"},
             {"id": "https://json.example.org/p/3", "url": "/posts/3"}]
    feed = parse(json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode(), URL)
    assert [e.link for e in feed.entries] == ["https://json.example.org/p/1", None, "https://feeds.example.org/posts/3"]


def test_xml_base_is_honoured():
    feed = read("xml-base.xml")
    assert feed.entries[0].link == "https://base.example.org/blog/2024/post.html"


def test_an_enclosure_link_never_replaces_the_article_link():
    (entry,) = read("link-priority.xml").entries
    assert entry.link == "https://prio.example.org/article"


# --- dates ---------------------------------------------------------------------------------------

def test_dates_in_every_form_and_zone_less_ones_in_the_feed_timezone():
    iso, rfc822, chinese, w3c, none = read("zoneless-dates.xml").entries
    shanghai = ms("2018-09-18T14:38:10+08:00")
    assert iso.published == rfc822.published == w3c.published == shanghai
    assert chinese.published == ms("2018-09-18T14:38:00+08:00")
    assert none.published is None
    in_utc = read("zoneless-dates.xml", tz="UTC").entries[0]
    assert in_utc.published == shanghai + int(timedelta(hours=8).total_seconds() * 1000)


def test_a_date_only_feedparser_understands_still_counts():
    data = """<rss version="2.0"><channel><title>t</title><item><title>x</title>
        <pubDate>Κυρ, 11 Ιούλ 2004 12:00:00 EST</pubDate></item></channel></rss>""".encode()
    (entry,) = parse(data, URL).entries
    assert entry.published == ms("2004-07-11T17:00:00+00:00")


# --- encodings -----------------------------------------------------------------------------------

def test_gb2312_label_is_read_as_gb18030():
    feed = read("gb2312-declared.xml")
    assert feed.entries[0].title == "朱镕基会见外宾"  # 镕 is not in GB2312


def test_big5_label_is_read_as_big5_hkscs():
    assert read("big5-hkscs.xml").entries[0].title == "搭𨋢上樓㗎"


def test_utf16_with_bom():
    assert read("bom-utf16.xml").title == "UTF-16 訊息"


def test_http_charset_wins_over_the_declaration():
    data = '<?xml version="1.0" encoding="iso-8859-1"?><rss><channel><title>中文</title></channel></rss>'
    assert parse(data.encode("utf-8"), URL, "text/xml; charset=utf-8").title == "中文"
    assert parse(data.encode("gbk"), URL, "application/rss+xml; charset=GBK").title == "中文"


def test_undecodable_bytes_become_replacement_characters():
    feed = read("invalid-bytes.xml")
    assert "\ufffd" in feed.title and feed.entries[0].summary == "ok \ufffd here"


def test_c1_controls_are_read_as_windows_1252_like_feedparser_does():
    data = "<rss><channel><item><title>don\u0092t</title><description>a&#150;b</description></item></channel></rss>"
    (entry,) = parse(data.encode("utf-8"), URL).entries
    assert entry.title == "don\u2019t" and entry.summary == "a\u2013b"


# --- not feeds, and documents that attack the parser ---------------------------------------------

@pytest.mark.parametrize(("name", "reason"), [
    ("html-page.html", "not a feed: the server sent an HTML page"),
    ("empty.xml", "not a feed: the document is empty"),
    ("not-a-json-feed.json", "not a feed: JSON, but not a JSON Feed"),
])
def test_not_a_feed_says_what_it_is(name, reason):
    with pytest.raises(NotAFeed) as exc:
        read(name)
    assert str(exc.value) == reason and "\n" not in str(exc.value)


@pytest.mark.timeout(10)
def test_billion_laughs_is_not_expanded():
    feed = read("billion-laughs.xml")
    assert feed.title == "Laughs lol"  # a literal entity is harmless and kept
    assert all(len(e.title) < 100 and len(e.summary or "") < 100 for e in feed.entries)


def test_external_entities_are_never_read():
    feed = read("external-entity.xml")
    seen = [feed.title, *(f for e in feed.entries for f in (e.title, e.summary))]
    assert not any("root:" in (s or "") for s in seen)
    assert feed.entries[0].title == "Secret: &xxe;"


def test_literal_entities_in_the_doctype_are_kept():
    feed = read("entity-declared.xml")
    assert feed.title == "Example news" and feed.entries[0].title == "A\xa0title"


def test_a_document_that_trips_feedparser_is_not_a_feed_rather_than_a_crash():
    with pytest.raises(NotAFeed, match="too broken to read"):
        parse(b"<rss><channel><image></height>&x;</image></channel></rss>", URL)


def test_a_body_naming_a_file_is_not_read_as_that_file(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text("<rss><channel><title>from the disk</title></channel></rss>")
    with pytest.raises(NotAFeed):
        parse(str(secret).encode(), URL)


# --- the fast path is feedparser, only faster ----------------------------------------------------

def fixture_documents() -> list[Path]:
    return sorted([*FEEDS.glob("*.xml"), *GOLDEN.glob("**/*.xml"), *DEMO.glob("*.xml")])


@pytest.mark.parametrize("path", fixture_documents(), ids=lambda p: p.name)
def test_fast_path_equals_fallback_on_fixtures(path):
    data = path.read_bytes()
    try:
        fast = parse(data, URL, None, "UTC")
    except NotAFeed as exc:
        with pytest.raises(NotAFeed, match=str(exc)):
            fallback(data)
        return
    assert fast == fallback(data)


@pytest.mark.parametrize("name", ["rss20-voa.xml", "rss20-content-encoded.xml", "rdf-rss10.xml", "atom10.xml",
                                  "atom03.xml", "gb2312-declared.xml", "big5-hkscs.xml", "bom-utf16.xml",
                                  "zoneless-dates.xml", "media-rss.xml", "relative-links.xml"])
def test_common_shapes_take_the_fast_path(name):
    assert took_fast_path((FEEDS / name).read_bytes())


@pytest.mark.parametrize("name", ["atom10-xhtml.xml", "xml-base.xml", "rss091.xml", "billion-laughs.xml",
                                  "invalid-bytes.xml"])
def test_unusual_shapes_go_to_feedparser(name):
    assert not took_fast_path((FEEDS / name).read_bytes())


# Pieces of items, many of them traps: repeats, empty elements, relative and odd links, guids that
# are or are not links, every author form, images three ways, C1 controls, comments, CDATA.
ITEM_PARTS = [
    "<title>标题 {n}</title>", "<title></title>", "<title>A &lt;b&gt;bold&lt;/b&gt; move</title>",
    "<title>a<!-- c -->b</title>", "<title>don\u0092t</title>",
    "<link>https://item.example/{n}</link>", "<link></link>", "<link/>", "<link> ../rel/{n}?a=1&amp;b=2 </link>",
    '<atom:link rel="alternate" href="/alt/{n}"/>', '<atom:link rel="enclosure" type="image/png" href="/{n}.png"/>',
    "<guid>https://item.example/{n}</guid>", '<guid isPermaLink="false">id-{n}</guid>', "<guid>rel/{n}</guid>",
    "<description>Summary {n}</description>", "<description>5 &lt; 6 &amp;amp; 7</description>",
    "<description><![CDATA[<p>Body {n}</p><script>x()</script>]]></description>", "<description>a&#150;b</description>",
    "<content:encoded><![CDATA[<div>Full {n}</div>]]></content:encoded>", "<content:encoded></content:encoded>",
    "<pubDate>Tue, 07 May 2024 21:14:35 GMT</pubDate>", "<pubDate>2018-09-18 14:38:10</pubDate>",
    "<pubDate>bogus</pubDate>", "<dc:date>2024-05-07T10:00:00+09:00</dc:date>",
    "<dcterms:modified>2024-05-09T00:00:00Z</dcterms:modified>",
    "<author>a{n}@example.org (Writer {n})</author>", "<dc:creator>美国之音</dc:creator>", "<dc:creator></dc:creator>",
    "<category>c{n}</category>", "<comments>https://c.example/{n}</comments>",
    '<enclosure url="https://i.example/{n}.jpg" type="image/jpeg" length="1"/>',
    '<enclosure url="https://a.example/{n}.mp3" type="audio/mpeg"/>',
    '<media:content url="https://m.example/{n}.jpg" medium="image"/>', "<media:thumbnail>/thumb/{n}.jpg</media:thumbnail>",
    '<media:group><media:content url="https://g.example/{n}.png"/></media:group>',
    '<foo:bar xmlns:foo="https://foo.example/">x</foo:bar>', "<unknown attr='1'/>",
    "<source url='https://s.example/'>S</source>",
]
NAMESPACES = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
              'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom" '
              'xmlns:dcterms="http://purl.org/dc/terms/"')


def generated_feed(rng: random.Random) -> bytes:
    items = "".join("<item>" + "".join(rng.choice(ITEM_PARTS).format(n=n) for _ in range(rng.randint(0, 8)))
                    + "</item>" for n in range(rng.randint(1, 4)))
    channel = rng.choice(["<title> Channel </title><link>https://feed.example/</link>", "<title></title>",
                          "<ttl>30</ttl>"])
    if rng.random() < 0.5:
        return f'<rss version="2.0" {NAMESPACES}><channel>{channel}{items}</channel></rss>'.encode()
    rdf = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
    return f"<rdf:RDF {rdf} {NAMESPACES}><channel>{channel}</channel>{items}</rdf:RDF>".encode()


def test_fast_path_equals_fallback_on_generated_feeds():
    rng = random.Random(20240507)
    fast = 0
    for _ in range(300):
        data = generated_feed(rng)
        assert parse(data, URL, None, "UTC") == fallback(data), data.decode()
        fast += took_fast_path(data)
    assert fast > 150


@pytest.mark.parametrize("ref", [
    "http://a.example/b/c.html", "https://a.example/p?q=1&r=2#frag", "HTTP://A.example/x", "http:///three/slashes",
    "http://a.example/p;params", "http://a.example/p?", "http://a.example/p#", "http://[::1]/v6", "//host/path",
    "relative/path", "../up", "http://a.example/ sp", "mailto:x@example.org", "ftp://files.example/pub/",
    "http://a.example/%E4%B8%AD", "http://a.example:8080/p?q=a?b", "javascript:alert(1)", "http://a.example/p?#f",
])
def test_the_url_join_shortcut_agrees_with_feedparser(ref):
    for base in ("", URL, "ftp://files.example/dir/"):
        assert parse_fast._join(base, ref) == _urljoin(base, ref)


def test_a_bom_of_utf8_takes_the_fast_path_too():
    data = codecs.BOM_UTF8 + (FEEDS / "rss20-voa.xml").read_bytes()
    assert took_fast_path(data) and parse(data, URL) == read("rss20-voa.xml")


def test_dates_are_utc_milliseconds():
    published = read("rss20-voa.xml").entries[0].published
    assert datetime.fromtimestamp(published / 1000, UTC).isoformat() == "2024-05-07T21:14:35+00:00"


# --- the parse boundary: what a hostile feed can no longer do ------------------------------------

FORBIDDEN = "\x00\x01\x08\x0b\x0c\x0e\x1f\ufffe\uffff"
FIELDS = ("title", "guid", "link", "content", "summary", "image", "author")


def xml_safe(feed) -> bool:
    """Whether every value of the feed and its entries is made of characters XML 1.0 allows."""
    values = [feed.title, feed.link, feed.subtitle, feed.id, feed.author,
              *(getattr(e, f) for e in feed.entries for f in FIELDS)]
    return not any(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]", v) for v in values if v)


def test_forbidden_characters_leave_every_field_of_an_xml_feed():
    junk = "".join(FORBIDDEN[:7])  # raw C0 controls: lxml refuses the document, feedparser reads it
    doc = (f"<rss><channel><title>T{junk}</title><description>S{junk}</description><link>https://f.example/{junk}</link>"
           f"<item><title>标题{junk}</title><guid isPermaLink='false'>g{junk}</guid><link>https://a.example/1{junk}</link>"
           f"<description>d{junk}</description><author>a{junk}</author>"
           f"<enclosure url='https://i.example/1.jpg' type='image/jpeg'/></item></channel></rss>")
    feed = parse(doc.encode(), URL)
    assert xml_safe(feed)
    (entry,) = feed.entries
    assert (feed.title, entry.title, entry.guid, entry.summary, entry.author) == ("T", "标题", "g", "d", "a")


def test_forbidden_characters_from_character_references_and_latin1_repair_leave_too():
    doc = "<rss><channel><title>a&#1;b&#xFFFE;c</title><item><title>ï¿¾x</title></item></channel></rss>"
    feed = parse(doc.encode(), URL)
    assert xml_safe(feed) and feed.entries[0].title == "x"


def test_forbidden_characters_leave_every_field_of_a_json_feed():
    junk = FORBIDDEN + "\ud800x\udfff"  # lone surrogates (a pair would make one character)
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "T" + junk, "home_page_url": "https://h.example/",
           "description": "d" + junk, "author": {"name": "n" + junk},
           "items": [{"id": "1" + junk, "url": "https://a.example/1", "title": "t" + junk, "content_html": "<p>c</p>" + junk,
                      "summary": "s" + junk, "image": "https://i.example/1.jpg", "authors": [{"name": "a" + junk}]}]}
    feed = parse(json.dumps(doc).encode(), URL)
    assert xml_safe(feed)
    assert (feed.title, feed.entries[0].title, feed.entries[0].guid, feed.entries[0].author) == ("Tx", "tx", "1x", "ax")
    etree.fromstring(f"<t>{html.escape(feed.title + feed.entries[0].content)}</t>")  # what lxml refused before


HOSTILE_LINKS = [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "\tjava\tscript:alert(1)",
    "java\nscript:alert(1)", "java\r\nscript:alert(1)", "\x01javascript:alert(1)", "vbscript:msgbox(1)",
    "VBScript:msgbox(1)", "data:text/html,<script>alert(1)</script>", " DATA:text/html;base64,PHNjcmlwdD4=",
    "mailto:x@example.org", "ftp://files.example/a", "file:///etc/passwd", "about:blank", "http://[bad",
]


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_entry_links_and_images_are_http_or_nothing(link):
    escaped = html.escape(link)  # in element text: XML turns tabs and line breaks of attribute values into spaces
    doc = (f"<rss xmlns:media='http://search.yahoo.com/mrss/'><channel><title>t</title><item><title>x</title>"
           f"<link>{escaped}</link><media:thumbnail>{escaped}</media:thumbnail></item></channel></rss>")
    (entry,) = parse(doc.encode(), URL).entries
    assert entry.link is None and entry.image is None  # the entry is still there
    item = {"id": "1", "title": "x", "url": link, "image": link}
    (entry,) = parse(json.dumps({"version": "https://jsonfeed.org/version/1", "items": [item]}).encode(), URL).entries
    assert entry.link is None and entry.image is None


def test_relative_links_are_resolved_against_the_feed_and_kept():
    doc = "<rss><channel><item><title>x</title><link>../a b.html</link></item></channel></rss>"
    assert parse(doc.encode(), URL).entries[0].link == "https://feeds.example.org/a%20b.html"


@pytest.mark.parametrize(("doc", "warning"), [
    ({"items": 5}, "skipped: items is not a list"),
    ({"items": [5, "x", {"id": "1"}]}, "skipped: an item is not an object (2 times)"),
    ({"items": [{"id": "1", "attachments": 5}]}, "skipped: attachments is not a list"),
    ({"items": [{"id": "1", "title": ["x"], "url": {"a": 1}, "content_html": 7.5, "date_published": True}]},
     "skipped: url is not text; date_published is not text; title is not text"),
    ({"author": "me", "items": [{"id": "1", "authors": {"name": "x"}}]},
     "skipped: authors is not a list; author is not an object"),
])
def test_a_json_feed_with_parts_of_the_wrong_type_keeps_the_rest(doc, warning):
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "T", **doc}
    feed = parse(json.dumps(doc).encode(), URL)
    assert feed.title == "T" and feed.warning == warning
    assert [e.guid for e in feed.entries] == (["1"] if "1" in json.dumps(doc["items"]) else [])


def test_a_json_feed_of_numbers_where_text_belongs_reads_them_as_written():
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": 12, "title": 3.5}]}
    feed = parse(json.dumps(doc).encode(), URL)
    assert (feed.entries[0].guid, feed.entries[0].title, feed.warning) == ("12", "3.5", None)


def entity_document(value_size: int, references: int) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{"x" * value_size}">\n<!ENTITY nb "&#160;">\n]>\n'
            f"<rss><channel><title>T</title><item><title>i&nb;j</title>"
            f"<description>{'&big;' * references}</description></item></channel></rss>").encode()


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("value_size", "references"), [(10_000, 10_000), (100_000, 1_000), (1_000, 100_000), (70_000, 1)])
def test_entities_that_would_expand_past_the_limit_stay_as_written(value_size, references):
    feed = parse(entity_document(value_size, references), URL)
    (entry,) = feed.entries
    assert len(entry.summary) == len("&big;") * references  # the references, not their expansion
    assert entry.title == "i\xa0j"  # a small entity in the same document is still expanded


def test_entities_within_the_limit_are_expanded():
    feed = parse(entity_document(100, 100), URL)
    assert feed.entries[0].summary == "x" * 10_000


@pytest.mark.timeout(20)
def test_entity_declarations_outside_the_doctype_are_never_expanded():
    declarations = f'<!ENTITY big "{"x" * 10_000}">'
    for doc in (f"<!DOCTYPE rss>\n{declarations}\n<rss>",
                f"<!-- \n{declarations}\n -->\n<!DOCTYPE rss [\n]>\n<rss>",
                f"<!DOCTYPE rss [\n<!ENTITY a 'b'>\n{declarations}\n<rss>"):
        body = doc + f"<channel><title>T</title><item><title>i</title><description>{'&big;' * 1000}</description></item></channel></rss>"
        entries = parse(body.encode(), URL).entries
        assert all(len(e.summary or "") < 100_000 for e in entries), doc


@pytest.mark.parametrize("ttl", ["²", "٣", "9" * 5000, "-5", "1e3", " 30 "])
def test_a_strange_ttl_is_no_ttl_or_read_as_written(ttl):
    feed = parse(f"<rss><channel><title>t</title><ttl>{ttl}</ttl></channel></rss>".encode(), URL)
    assert feed.ttl_minutes == (30 if ttl.strip() == "30" else None)


@pytest.mark.parametrize("date", ["2024-05-07T10:00:00+99:00", "20240507T100000+9999", "1 Jan 99999999999999999999 00:00:00"])
def test_an_impossible_zone_or_year_does_not_lose_the_feed(date):
    feed = parse(f"<rss><channel><title>t</title><item><title>x</title><pubDate>{date}</pubDate></item></channel></rss>".encode(), URL)
    assert [e.title for e in feed.entries] == ["x"]  # its date, if any, as feedparser reads it


def test_a_script_cut_off_by_the_end_of_the_body_goes_with_it():
    doc = "<rss><channel><item><title>x</title><description>&lt;p&gt;ok&lt;/p&gt;&lt;script src=x</description></item></channel></rss>"
    assert parse(doc.encode(), URL).entries[0].summary == "<p>ok</p>"


def test_a_fast_path_refusal_of_forbidden_characters_is_what_keeps_them_out():
    # parse() strips only what feedparser and JSON give: lxml must refuse every one of them.
    for char in FORBIDDEN:
        assert parse_fast.parse(f"<rss><channel><title>a{char}</title></channel></rss>".encode("utf-8", "surrogatepass"), URL) is None
        ref = f"&#{ord(char)};"
        assert parse_fast.parse(f"<rss><channel><title>a{ref}</title></channel></rss>".encode(), URL) is None
