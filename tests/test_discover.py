"""What `add` makes of a URL: a feed, or a web page and the feeds it names."""

from __future__ import annotations

from support import item, rss

from newsmirror.discover import MAX_FEED_LINKS, examine, feed_links

BASE = "https://www.example.com/news/index.html"


def test_a_page_names_its_feeds_in_link_alternate_tags():
    page = """<html><head>
      <link rel="stylesheet" href="/site.css">
      <link rel="alternate" type="application/rss+xml" title="RSS" href="/feeds/rss.xml">
      <LINK REL="Alternate Home" TYPE="application/atom+xml; charset=utf-8" HREF="atom.xml">
      <link rel=alternate type=application/feed+json href="https://feeds.example.com/all.json">
      <link rel="alternate" type="text/html" hreflang="en" href="/en/">
      <link rel="alternate" type="application/rss+xml" href="/feeds/rss.xml">
      <script>document.write('<link rel="alternate" type="application/rss+xml" href="/fake.xml">')</script>
    </head><body></body></html>"""
    assert feed_links(page, BASE) == ("https://www.example.com/feeds/rss.xml", "https://www.example.com/news/atom.xml",
                                      "https://feeds.example.com/all.json")


def test_only_http_links_are_offered_and_only_so_many():
    page = "".join(f'<link rel="alternate" type="application/rss+xml" href="{href}">'
                   for href in ("javascript:alert(1)", "ftp://example.com/f.xml", "", " data:text/xml,<rss/>"))
    assert feed_links(page, BASE) == ()
    many = "".join(f'<link rel="alternate" type="application/rss+xml" href="/f{n}.xml">' for n in range(100))
    assert len(feed_links(many, BASE)) == MAX_FEED_LINKS


def test_a_feed_is_a_feed_with_its_own_title():
    found = examine(rss(item(1), title="自家的标题").encode(), "https://example.com/f.xml", "application/rss+xml")
    assert found.feed and found.title == "自家的标题" and found.problem is None


def test_a_page_is_no_feed_and_says_which_feeds_it_names():
    page = b'<!doctype html><html><head><link rel="alternate" type="application/rss+xml" href="rss.xml"></head></html>'
    found = examine(page, "https://example.com/", "text/html")
    assert not found.feed and found.feeds == ("https://example.com/rss.xml",) and found.problem == "is a page naming 1 feed"
    bare = examine(b"<!doctype html><html><body>hello</body></html>", "https://example.com/", "text/html")
    assert bare.problem == "is not a feed: the server sent an HTML page" and bare.feeds == ()
