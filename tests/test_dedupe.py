"""Duplicates: one article, one file — and the look-alikes that must stay separate."""

from __future__ import annotations

import pytest
from support import item, newsmirror, rss


def run_feed(tmp_path, site, *docs: str, dedupe: str | None = None):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", docs[0]), "--id", "f", "--title", "F")
    if dedupe:
        config = archive / "newsmirror.toml"
        config.write_text(f'dedupe = "{dedupe}"\n' + config.read_text())
    outs = [newsmirror("--archive", archive, "run").out]
    for doc in docs[1:]:
        site.add("/f.xml", doc)
        outs.append(newsmirror("--archive", archive, "run").out)
    return archive, outs


def files(archive, feed="f"):
    return sorted(p.name for p in (archive / "articles" / feed).glob("*.md"))


FULL = "".join(f"<p>第{i}段：这是一篇完整的文章，不是摘要，它的正文足够长，长到足以认出同一篇文章。</p>" for i in range(12))


def test_a_guid_change_with_the_same_link_and_the_same_full_body_is_the_same_article(tmp_path, site):
    archive, outs = run_feed(tmp_path, site, rss(item(1, guid="old-guid", body=FULL)), rss(item(1, guid="new-guid", body=FULL)))
    assert "f: unchanged" in outs[1] and files(archive) == ["1048574.md"]


def test_same_full_body_under_a_new_guid_and_link_is_the_same_article(tmp_path, site):
    """A mirror with rotating domains, or an outlet reissuing an item under a new id."""
    archive, outs = run_feed(tmp_path, site, rss(item(1, guid="a", link="__BASE__/a/1.html", body=FULL)),
                             rss(item(1, guid="b", link="__BASE__/moved/1.html", body=FULL)))
    assert "f: unchanged" in outs[1] and files(archive) == ["1048574.md"]


def test_two_guids_on_one_link_are_two_articles_in_one_pass_and_in_two(tmp_path, site):
    a = item(1, guid="a", link="__BASE__/", title="甲")
    b = item(2, guid="b", link="__BASE__/", title="乙")
    one, _ = run_feed(tmp_path / "one", site, rss(b, a))
    two, _ = run_feed(tmp_path / "two", site, rss(a), rss(b, a))
    assert files(one) == files(two) == ["1048573.md", "1048574.md"]


@pytest.mark.parametrize("full_text", ["auto", "always", "never"])
@pytest.mark.parametrize("body", ["", None, "<p>本周的七张图。</p>"], ids=["empty", "missing", "same teaser"])
def test_a_weekly_column_under_a_new_link_and_guid_is_archived(tmp_path, site, full_text, body):
    def week(n: int) -> str:
        text = item(n, title="七张图看一周大事", guid=f"week-{n}", body=body or "")
        return text.replace("<description><![CDATA[]]></description>", "") if body is None else text
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(week(1))), "--id", "f", "--title", "F")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text().replace('id = "f"', f'id = "f"\nfull_text = "{full_text}"'))
    newsmirror("--archive", archive, "run")
    site.add("/f.xml", rss(week(2), week(1)))
    assert "f: 1 new" in newsmirror("--archive", archive, "run").out
    assert files(archive) == ["1048573.md", "1048574.md"]


def test_weekly_columns_with_one_title_stay_separate(tmp_path, site):
    week1 = item(1, title="七张图看一周大事", body="<p>第一周。</p>" * 20)
    week2 = item(2, title="七张图看一周大事", body="<p>第二周。</p>" * 20)
    archive, outs = run_feed(tmp_path, site, rss(week1), rss(week2, week1))
    assert "f: 1 new" in outs[1] and files(archive) == ["1048573.md", "1048574.md"]


def test_different_links_same_title_different_bodies_stay_separate(tmp_path, site):
    a = item(1, title="快讯", guid="", link="__BASE__/a/1.html", body="<p>甲事件。</p>" * 20)
    b = item(2, title="快讯", guid="", link="__BASE__/a/2.html", body="<p>乙事件。</p>" * 20)
    archive, _ = run_feed(tmp_path, site, rss(a, b).replace("<guid></guid>", ""))
    assert files(archive) == ["1048573.md", "1048574.md"]


def test_mirror_wide_dedupe_lists_the_other_feeds_copy(tmp_path, site):
    shared = item(7, link="https://wire.example/story-7.html?utm_source=a")
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(shared)), "--id", "a", "--title", "A")
    newsmirror("--archive", archive, "add", site.add("/b.xml", rss(item(8))), "--id", "b", "--title", "B")
    config = archive / "newsmirror.toml"
    config.write_text('dedupe = "mirror"\n' + config.read_text())
    newsmirror("--archive", archive, "run", "--feed", "a")
    site.add("/b.xml", rss(item(8), shared.replace("utm_source=a", "utm_source=b").replace("guid-7", "other-guid")))
    out = newsmirror("--archive", archive, "run", "--feed", "b").out
    assert "b: 1 new (shares a/1048574)" in out
    assert files(archive, "b") == ["1048574.md"]  # item 8 only
    listing = (archive / "lists/B.md").read_text(encoding="utf-8")
    assert "(/articles/a/1048574.md)" in listing and "(/articles/b/1048574.md)" in listing
    assert "b: unchanged" in newsmirror("--archive", archive, "run", "--feed", "b", "--force").out


def test_feed_level_dedupe_keeps_one_copy_per_feed(tmp_path, site):
    shared = item(7, link="https://wire.example/story-7.html")
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(shared)), "--id", "a", "--title", "A")
    newsmirror("--archive", archive, "add", site.add("/b.xml", rss(shared)), "--id", "b", "--title", "B")
    newsmirror("--archive", archive, "run")
    assert files(archive, "a") == files(archive, "b") == ["1048574.md"]
