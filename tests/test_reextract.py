"""Re-extraction: an article built from its page (the feed gave only a summary) is re-checked
on later passes like every recent article (`takedown_days`, `takedown_budget`); when its page
now says something else, the new text becomes a revision, as an edit in a feed does."""

from __future__ import annotations

import email.utils
import sqlite3
import time
from pathlib import Path

from support import Site, item, newsmirror, rss

HOUR = 3600 * 1000
PARAGRAPHS = ["白宫周二表示，希望以色列和哈马斯能够弥合停火谈判中的差距。", "科比说，以色列官员表示，这次行动的范围有限。",
              "联合国秘书长表示，对拉法的袭击将是一个战略错误。", "他说，两个主要援助过境点必须立即重新开放。"]


def page(*paragraphs: str) -> str:
    return ("<html><head><title>停火谈判</title></head><body><nav>首页 国际 美国</nav><article><h1>停火谈判</h1>"
            + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article><footer>版权所有</footer></body></html>")


def later(archive: Path, hours: float = 2) -> None:
    """Pretend the articles were archived (and last checked) `hours` ago: due for a re-check."""
    with sqlite3.connect(archive / ".newsmirror/archive.db") as db:
        db.execute("UPDATE entries SET first_seen = first_seen - ?, checked_at = checked_at - ?", (hours * HOUR, hours * HOUR))


def mirror(tmp_path: Path, site: Site) -> Path:
    """One article the feed only summarizes, built from its page by a first pass."""
    site.add("/a/1.html", page(*PARAGRAPHS), content_type="text/html; charset=utf-8")
    published = email.utils.formatdate(time.time() - 3 * 3600, usegmt=True)  # recent: within takedown_days
    site.add("/f.xml", rss(item(1, published, body="<p>停火谈判摘要。</p>", title="停火谈判")))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.url("/f.xml"), "--id", "voa", "--title", "美国之音")
    assert newsmirror("--archive", archive, "run").code == 0
    assert "范围有限" in (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")
    return archive


def test_an_edit_on_the_page_of_a_page_built_article_becomes_a_revision(tmp_path, site):
    archive = mirror(tmp_path, site)
    head = (archive / "articles/voa/1048574.md").read_text(encoding="utf-8").splitlines()[:2]
    site.add("/a/1.html", page(*(p.replace("范围有限", "范围非常有限") for p in PARAGRAPHS)),
             content_type="text/html; charset=utf-8")
    later(archive)
    assert newsmirror("--archive", archive, "run").code == 0
    assert site.hits["/a/1.html"] == 2  # built, then re-checked
    text = (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")
    assert "范围非常有限" in text and text.splitlines()[:2] == head  # the same file, date, title and link
    assert "{+非常+}" in newsmirror("--archive", archive, "diff", "voa/1048574").out
    assert len(newsmirror("--archive", archive, "history", "voa/1048574").out.splitlines()) == 3  # header, 2 versions


def test_a_page_that_did_not_change_makes_no_revision_and_no_write(tmp_path, site):
    archive = mirror(tmp_path, site)
    before = (archive / "articles/voa/1048574.md").stat().st_mtime_ns
    later(archive)
    assert newsmirror("--archive", archive, "run").code == 0
    assert site.hits["/a/1.html"] == 2
    assert (archive / "articles/voa/1048574.md").stat().st_mtime_ns == before
    assert len(newsmirror("--archive", archive, "history", "voa/1048574").out.splitlines()) == 2  # header, 1 version


def test_a_reindexed_article_takes_this_extractor_s_reading_before_it_compares(tmp_path, site):
    """After reindex the extractor that built a file is unknown: the first re-check only
    records what this one reads, and a later edit of the page is a revision."""
    archive = mirror(tmp_path, site)
    assert newsmirror("--archive", archive, "reindex").code == 0
    later(archive)
    newsmirror("--archive", archive, "run")
    assert site.hits["/a/1.html"] == 2
    assert len(newsmirror("--archive", archive, "history", "voa/1048574").out.splitlines()) == 2
    site.add("/a/1.html", page(*PARAGRAPHS[:3]), content_type="text/html; charset=utf-8")  # a paragraph cut
    later(archive, 7)  # past the six hours between checks
    newsmirror("--archive", archive, "run")
    assert site.hits["/a/1.html"] == 3
    assert "两个主要援助过境点" not in (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")
    assert len(newsmirror("--archive", archive, "history", "voa/1048574").out.splitlines()) == 3
