"""An entry whose only link is its guid (or Atom id, or JSON Feed id) is archived under that link,
and its page completes a summary-only entry, end to end against a local server."""

from __future__ import annotations

import json

import pytest
from support import newsmirror, rss

from newsmirror.render.markdown import read_article

PAGE = ("<html><body><article>" + "".join(f"<p>页面正文第{i}段，这是一个完整的句子。</p>" for i in range(6))
        + "</article></body></html>")
RSS_ITEM = ("<item><title>只有guid</title><link>{link}</link><guid>__BASE__/a/1.html</guid>"
            "<pubDate>Tue, 07 May 2024 21:39:03 GMT</pubDate><description>一句话摘要。</description></item>")
ATOM = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>源</title>'
        "<entry><title>只有guid</title><id>__BASE__/a/1.html</id><updated>2024-05-07T21:39:03Z</updated>"
        "<summary>一句话摘要。</summary></entry></feed>")
JSON_FEED = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "源", "items": [
    {"id": "__BASE__/a/1.html", "title": "只有guid", "date_published": "2024-05-07T21:39:03Z", "summary": "一句话摘要。"}]})


@pytest.mark.parametrize(("document", "content_type"), [
    (rss(RSS_ITEM.format(link="")), "application/rss+xml"),  # an empty <link>, then the guid
    (rss(RSS_ITEM.replace("<link>{link}</link>", "")), "application/rss+xml"),  # no <link> at all
    (ATOM, "application/atom+xml"),
    (JSON_FEED, "application/feed+json"),
], ids=["rss-empty-link", "rss-no-link", "atom-id", "json-id"])
def test_a_summary_item_linked_only_by_its_guid_is_completed_from_that_page(tmp_path, site, document, content_type):
    page = site.add("/a/1.html", PAGE, content_type="text/html; charset=utf-8")
    feed = site.add("/f.xml", document, content_type=content_type)
    assert newsmirror("--archive", tmp_path, "add", feed, "--id", "f", "--title", "源").code == 0
    assert newsmirror("--archive", tmp_path, "run").code == 0
    _, title, link, body = read_article((tmp_path / "articles/f/1048574.md").read_text(encoding="utf-8"))
    assert (title, link) == ("只有guid", page)
    assert "页面正文第5段" in body and "一句话摘要" not in body
    assert site.hits["/a/1.html"] == 1


def test_a_guid_that_is_no_permalink_is_never_the_link(tmp_path, site):
    item = RSS_ITEM.format(link="").replace("<guid>", '<guid isPermaLink="false">')
    site.add("/a/1.html", PAGE, content_type="text/html; charset=utf-8")
    feed = site.add("/f.xml", rss(item))
    newsmirror("--archive", tmp_path, "add", feed, "--id", "f", "--title", "源")
    newsmirror("--archive", tmp_path, "run")
    _, _, link, body = read_article((tmp_path / "articles/f/1048574.md").read_text(encoding="utf-8"))
    assert link == "" and "一句话摘要" in body
    assert site.hits["/a/1.html"] == 0
