"""Re-published feeds parse back, with feedparser and without complaint, to the same articles."""

from __future__ import annotations

import html
import json
import re

import feedparser
from support import item, newsmirror, rss

from newsmirror.model import Article
from newsmirror.parse import parse
from newsmirror.render import feeds as republish

TITLES = ["文章3 <b>&amp; “引号”", "文章2", "文章1"]


def mirror(tmp_path, site, site_url: str | None = None):
    items = [item(3, title="文章3 &lt;b&gt;&amp;amp; “引号”", body="<p>图：<img src=\"https://cdn.example/p.jpg\"></p>" * 10),
             item(2), item(1)]
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(*items)), "--id", "voa", "--title", "美国之音")
    if site_url:
        config = archive / "newsmirror.toml"
        config.write_text(config.read_text() + f'\n[publish]\nsite_url = "{site_url}"\n')
    newsmirror("--archive", archive, "run")
    return archive


def test_rss_atom_and_json_feed_round_trip(tmp_path, site):
    archive = mirror(tmp_path, site, "https://mirror.example/news/site/")
    for suffix in ("xml", "atom"):
        d = feedparser.parse((archive / f"feeds/voa.{suffix}").read_bytes())
        assert not d.bozo, (suffix, d.get("bozo_exception"))
        assert [e.title for e in d.entries] == TITLES
        first = d.entries[0]
        assert first.link == "https://mirror.example/news/site/articles/voa/1048572.html"
        content = first.get("content", [{}])[0].get("value") or first.summary
        assert "https://images.weserv.nl?url=cdn.example/p.jpg" in content  # images through the proxy
        assert first.published_parsed.tm_year == 2024
    # feedparser 6 reads no JSON Feed: newsmirror's own parser does, and the document is checked.
    data = (archive / "feeds/voa.json").read_bytes()
    parsed = parse(data, "https://mirror.example/feeds/voa.json", "application/feed+json")
    assert [e.title for e in parsed.entries] == TITLES
    doc = json.loads(data)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["items"][0]["url"] == "https://mirror.example/news/site/articles/voa/1048572.html"
    assert doc["items"][0]["external_url"] == f"{site.base}/a/3.html"


def test_without_a_site_url_items_link_the_source_and_all_feeds_exist(tmp_path, site):
    archive = mirror(tmp_path, site)
    d = feedparser.parse((archive / "feeds/voa.xml").read_bytes())
    assert d.entries[0].link == f"{site.base}/a/3.html"
    everything = feedparser.parse((archive / "feeds/all.atom").read_bytes())
    assert not everything.bozo and len(everything.entries) == 3
    assert sorted(p.name for p in (archive / "feeds").iterdir()) == [
        "all.atom", "all.json", "all.xml", "voa.atom", "voa.json", "voa.xml"]


def test_a_link_that_is_not_http_is_left_out_of_every_feed():
    """An archive may hold script links (an older version stored them as feeds sent them): the
    articles are re-published, their links are not; an http(s) link is written escaped."""
    hostile = [Article("voa", 1048574 - i, f"文章{i}", link, 1715117943000, "<p>正文</p>")
               for i, link in enumerate(["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
                                         "data:text/html,<script>alert(1)</script>", "vbscript:x", ""])]
    for write in (republish.rss, republish.atom, republish.json_feed):
        data = write("美国之音", "javascript:alert(2)", hostile).decode()
        assert "script:" not in data.lower() and "data:" not in data, write.__name__
        assert all(f"文章{i}" in data for i in range(len(hostile)))
    good = Article("voa", 1, "好", "https://x.example/it's>here", 1715117943000, "<p>正文</p>")
    for write in (republish.rss, republish.atom):
        entry = feedparser.parse(write("美国之音", "https://x.example/", [good])).entries[0]
        assert entry.link == "https://x.example/it's%3Ehere"
        source = re.search(r'<a href="([^"]*)">原文</a>', entry.content[0].value if "content" in entry else entry.summary)
        assert source and html.unescape(source.group(1)) == entry.link
    item = json.loads(republish.json_feed("美国之音", "", [good]))["items"][0]
    assert item["url"] == item["external_url"] == "https://x.example/it's%3Ehere"


def titles(path) -> list[str]:
    return [e.title for e in feedparser.parse(path.read_bytes()).entries]


def test_feeds_out_hold_the_newest_articles_by_date_not_the_last_stored(tmp_path, site):
    """A feed backfilled with old items never pushes newer ones out of the re-published feeds;
    an item without a date counts as stored now, and equal dates keep the order they were stored in."""
    url = site.add("/f.xml", rss(item(5, date="Tue, 07 May 2024 08:00:00 GMT"), item(6, date="Wed, 08 May 2024 08:00:00 GMT")))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", url, "--id", "voa", "--title", "美国之音")
    config = archive / "newsmirror.toml"
    config.write_text("feeds_out = 4\n" + config.read_text())
    newsmirror("--archive", archive, "run")
    backfilled = [item(n, date=f"Mon, 0{n} Jan 2018 08:00:00 GMT") for n in (1, 2, 3)]
    site.add("/f.xml", rss(item(7, date=None), item(8, date="Wed, 08 May 2024 08:00:00 GMT"), *backfilled))
    newsmirror("--archive", archive, "run")
    expected = ["文章7", "文章8", "文章6", "文章5"]  # 8 and 6 share a date: 8, stored later, first
    for name in ("voa", "all"):
        for suffix in ("xml", "atom"):
            assert titles(archive / f"feeds/{name}.{suffix}") == expected, (name, suffix)
        assert [i["title"] for i in json.loads((archive / f"feeds/{name}.json").read_bytes())["items"]] == expected
