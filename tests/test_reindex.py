"""Adopting a folder in the original mirror's layout: reindex, then run writes only what is missing."""

from __future__ import annotations

import shutil

import pytest

from newsmirror.archive import Archive
from newsmirror.store import Store
from support import item, newsmirror, rss

ORIGINAL = "<!--{t}-->\n[{title}]({link})\n------\n\n{body}\n"


def test_reindex_adopts_original_layout_and_run_continues_numbering(tmp_path, site):
    archive = tmp_path / "news"
    folder = archive / "articles/voa"
    folder.mkdir(parents=True)
    # Two articles the original mirror wrote (one in its older "<n>_<title>.md" naming); the
    # source has since edited the second.
    body1 = item(1).split("<![CDATA[")[1].split("]]>")[0]
    (folder / "1048574.md").write_text(ORIGINAL.format(t=1715000000000, title="文章1", link=f"{site.base}/a/1.html", body=body1))
    (folder / "1048573_文章2.md").write_text(ORIGINAL.format(t=1715100000000, title="文章2", link=f"{site.base}/a/2.html",
                                                            body="<p>初版的正文。</p>"))
    (folder / "notes.txt").write_text("not an article")
    url = site.add("/feed.xml", rss(item(3, "Wed, 08 May 2024 10:00:00 GMT"), item(2), item(1)))
    assert newsmirror("--archive", archive, "add", url, "--id", "voa", "--title", "美国之音").code == 0

    result = newsmirror("--archive", archive, "reindex")
    assert result.code == 0 and "voa: 2 articles" in result.out

    run = newsmirror("--archive", archive, "run")
    assert "voa: 1 new, 1 updated" in run.out  # items 1 and 2 are recognized by their links; 2 was edited
    assert sorted(p.name for p in folder.iterdir()) == [".identity.jsonl", "1048572.md", "1048573_文章2.md", "1048574.md", "notes.txt"]
    assert "第2篇文章" in (folder / "1048573_文章2.md").read_text()  # rewritten in place, history kept
    assert newsmirror("--archive", archive, "history", "voa/1048573").out.count("\n") >= 2
    listing = (archive / "lists/美国之音.md").read_text(encoding="utf-8")
    assert listing.splitlines()[3:] == ["5-8 [文章3](/articles/voa/1048572.md)", "",
                                        "5-8 [文章2](/articles/voa/1048573.md)", "",
                                        "5-6 [文章1](/articles/voa/1048574.md)", ""]


def test_reindex_rebuilds_a_lost_database(tmp_path, site):
    archive = tmp_path / "m"
    url = site.add("/feed.xml", rss(item(1), item(2)))
    newsmirror("--archive", archive, "add", url, "--id", "f", "--title", "F")
    newsmirror("--archive", archive, "run")
    for p in (archive / ".newsmirror").iterdir():
        p.unlink()
    assert newsmirror("--archive", archive, "reindex").code == 0
    store = Store(Archive(archive).state_dir)
    rows, unwritten = store.entries("f"), store.pending()
    store.close()
    assert [(r.number, r.title) for r in rows] == [(1048573, "文章1"), (1048574, "文章2")]
    assert unwritten == []  # read from their files: nothing to write again
    assert "f: unchanged" in newsmirror("--archive", archive, "run").out


def git(archive, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-C", str(archive), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})


def test_reindex_rebuilds_revisions_from_git_history(tmp_path, site):
    """A stateless scheduled runner keeps no database: the history lives in the repository."""
    archive = tmp_path / "m"
    first = "".join(f"<p>第一版第{i}句。</p>" for i in range(8))
    site.add("/feed.xml", rss(item(1, body=first)))
    newsmirror("--archive", archive, "add", site.url("/feed.xml"), "--id", "f", "--title", "F")
    git(archive, "init", "-q")
    for version in ("第一版", "第二版", "第三版"):
        site.add("/feed.xml", rss(item(1, body=first.replace("第一版", version))))
        newsmirror("--archive", archive, "run")
        git(archive, "add", "-A")
        git(archive, "commit", "-qm", version)
    for p in (archive / ".newsmirror").iterdir():
        p.unlink()  # a fresh runner
    result = newsmirror("--archive", archive, "reindex")
    assert "2 earlier versions from git history" in result.out
    lines = newsmirror("--archive", archive, "history", "f/1048574").out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert "第[-一-]{+三+}版第0句" in newsmirror("--archive", archive, "diff", "f/1048574", "1", "3").out


def test_reindex_reads_back_escaped_titles_links_and_wrapped_bodies(tmp_path, site):
    """What newsmirror escapes (a title with `](`, a link with `](` and `)`) and wraps (a body
    that opens no HTML block) is read back as it was: the next run finds nothing changed."""
    title = "[视频] 拉法](停火 <img src=x> \\*"
    body = "<b>粗体开头</b>" + "".join(f"<p>第{i}段，完整的句子。</p>" for i in range(12))
    url = site.add("/feed.xml", rss(item(1, title=title.replace("<", "&lt;"), body=body, link="__BASE__/a/1.html?q=](x))")))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", url, "--id", "f", "--title", "F")
    newsmirror("--archive", archive, "run")
    path = archive / "articles/f/1048574.md"
    before = path.read_bytes()
    for p in (archive / ".newsmirror").iterdir():
        p.unlink()
    assert "f: 1 articles" in newsmirror("--archive", archive, "reindex").out
    store = Store(Archive(archive).state_dir)
    [row] = store.entries("f")
    store.close()
    assert (row.title, row.link, row.body) == (title, f"{site.base}/a/1.html?q=](x))", body)
    assert "f: unchanged" in newsmirror("--archive", archive, "run").out
    assert path.read_bytes() == before


def test_a_file_holding_a_script_is_read_back_sanitized(tmp_path):
    """A repository of the original mirror was never sanitized by newsmirror: what the site and
    the feeds out show from it is."""
    from newsmirror import config as configuration

    archive = Archive(tmp_path / "m")
    (archive.root / "articles/voa").mkdir(parents=True)
    configuration.add_feed(archive.config_path, "voa", "https://www.voachinese.com/feed", "美国之音")
    (archive.root / "articles/voa/1048574.md").write_text(
        "<!--1715117943000-->\n[标题](https://www.voachinese.com/a/1.html)\n------\n\n"
        '<p onclick="alert(1)">正文<script>alert(2)</script><a href="javascript:alert(3)">链接</a></p>\n', encoding="utf-8")
    assert newsmirror("--archive", archive.root, "reindex").code == 0
    store = Store(archive.state_dir)
    try:
        (row,) = store.entries("voa")
    finally:
        store.close()
    assert "正文" in row.body and "链接" in row.body
    assert "alert" not in row.body and "onclick" not in row.body and "javascript" not in row.body


def home_page_feed(n: int) -> str:
    """A feed whose items all link to its home page, each with its own guid, title and date."""
    return rss(*(item(i, link="__BASE__/", guid=f"post-{i}", date=f"Tue, {7 + i:02d} May 2024 21:39:03 GMT")
                 for i in range(n, 0, -1)))


@pytest.mark.parametrize("index", [True, False], ids=["with the identity index", "original mirror (no index)"])
def test_a_lost_state_rebuilt_by_reindex_decides_as_the_lost_one_did(tmp_path, site, index):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", home_page_feed(3)), "--id", "f", "--title", "F")
    assert "f: 3 new" in newsmirror("--archive", archive, "run").out
    folder = archive / "articles/f"
    if not index:
        (folder / ".identity.jsonl").unlink()
    shutil.rmtree(archive / ".newsmirror")
    assert "f: 3 articles" in newsmirror("--archive", archive, "reindex").out
    site.add("/f.xml", home_page_feed(5))
    assert "f: 2 new" in newsmirror("--archive", archive, "run").out  # nothing duplicated, nothing merged
    assert len(list(folder.glob("*.md"))) == 5
    assert "f: unchanged" in newsmirror("--archive", archive, "run", "--force").out
