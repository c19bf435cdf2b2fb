"""Articles taken down at the source stay in the archive, marked."""

from __future__ import annotations

import json
import sqlite3

from support import item, newsmirror, rss

HOUR = 3600 * 1000


def age(archive, hours: float) -> None:
    """Pretend every article was archived `hours` ago and last checked then."""
    with sqlite3.connect(archive / ".newsmirror/archive.db") as db:
        db.execute("UPDATE entries SET first_seen = first_seen - ?, checked_at = checked_at - ?", (hours * HOUR, hours * HOUR))


def mirror(tmp_path, site, *items: str):
    for n in (1, 2, 3):
        site.add(f"/a/{n}.html", f"<html><body><article><p>第{n}篇。</p></article></body></html>", content_type="text/html")
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(*items)), "--id", "f", "--title", "F")
    newsmirror("--archive", archive, "run")
    return archive


def test_a_page_that_now_answers_404_or_410_is_marked_removed(tmp_path, site):
    archive = mirror(tmp_path, site, item(1), item(2), item(3))
    site.routes.pop("/a/2.html")  # 404
    site.add("/a/3.html", b"gone", status=410, content_type="text/html")
    assert newsmirror("--archive", archive, "run").code == 0
    assert site.hits["/a/1.html"] == 0  # archived less than an hour ago: not re-checked yet
    age(archive, 2)
    assert "f: nothing new, 2 removed\n1 feeds: 0 new articles, 0 revised, 0 completed, 2 removed, 0 failed" in \
        newsmirror("--archive", archive, "run").out
    listing = (archive / "lists/F.md").read_text(encoding="utf-8")
    assert "[已删除] [文章2]" in listing and "[已删除] [文章3]" in listing and "[已删除] [文章1]" not in listing
    (row,) = json.loads(newsmirror("--archive", archive, "list", "--json").out)
    assert (row["articles"], row["revised"], row["removed"]) == (3, 0, 2)
    assert (archive / "articles/f/1048573.md").exists()  # the archive keeps it
    assert "removed at the source" in newsmirror("--archive", archive, "history", "f/1048573").out


def test_a_page_redirected_elsewhere_and_dropped_by_the_feed_is_removed(tmp_path, site):
    archive = mirror(tmp_path, site, item(1), item(2))
    age(archive, 2)
    site.add("/a/2.html", b"", status=302, headers={"Location": "/"}, content_type="text/html")
    site.add("/", "<html><body>首页</body></html>", content_type="text/html")
    site.add("/f.xml", rss(item(1), item(9)))
    assert "f: 1 new, 1 removed" in newsmirror("--archive", archive, "run").out
    listing = (archive / "lists/F.md").read_text(encoding="utf-8")
    assert "[已删除] [文章2]" in listing and "[已删除] [文章1]" not in listing


def test_rechecks_stay_within_the_window_and_the_budget(tmp_path, site):
    archive = mirror(tmp_path, site, item(1), item(2), item(3))
    config = archive / "newsmirror.toml"
    config.write_text('takedown_budget = 2\nremoved_marker = "(removed) "\n' + config.read_text())
    age(archive, 2)
    newsmirror("--archive", archive, "run")
    assert sum(site.hits[f"/a/{n}.html"] for n in (1, 2, 3)) == 2
    age(archive, 24 * 8)  # past the 7-day window: never again
    newsmirror("--archive", archive, "run")
    assert sum(site.hits[f"/a/{n}.html"] for n in (1, 2, 3)) == 2
