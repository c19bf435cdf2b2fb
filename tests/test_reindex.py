"""Adopting a folder in the original mirror's layout: reindex, then run writes only what is missing."""

from __future__ import annotations

import shutil

import pytest
from support import item, newsmirror, rss

from newsmirror.archive import Archive
from newsmirror.store import Store

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
    assert "voa: 1 new, 1 revised" in run.out  # items 1 and 2 are recognized by their links; 2 was edited
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


def test_a_title_with_line_breaks_is_adopted_and_its_story_not_archived_again(tmp_path, site):
    """Deutsche Welle's feed put line breaks in titles, and the original mirror wrote them as they were."""
    archive = tmp_path / "news"
    folder = archive / "articles/dw"
    folder.mkdir(parents=True)
    (folder / "1048574.md").write_text(ORIGINAL.format(t=1715083200000, title="德语媒体：北京的快速回应\n\n",
                                                       link=f"{site.base}/a/1.html", body="<p>正文。</p>"), encoding="utf-8")
    url = site.add("/feed.xml", rss(item(1, title="德语媒体：北京的快速回应\n\n")))
    newsmirror("--archive", archive, "add", url, "--id", "dw", "--title", "德国之声")

    result = newsmirror("--archive", archive, "reindex")
    assert "dw: 1 articles" in result.out and "skipped" not in result.err
    assert "revisions from git history: not available (not a git repository)" in result.out
    store = Store(Archive(archive).state_dir)
    [row] = store.entries("dw")
    store.close()
    assert (row.title, row.link) == ("德语媒体：北京的快速回应\n\n", f"{site.base}/a/1.html")  # as the file has it

    assert "dw: nothing new, 1 revised" in newsmirror("--archive", archive, "run").out  # its body, edited
    assert [p.name for p in folder.iterdir() if p.name != ".identity.jsonl"] == ["1048574.md"]
    listing = (archive / "lists/德国之声.md").read_text(encoding="utf-8")
    assert "5-7 [德语媒体：北京的快速回应](/articles/dw/1048574.md)" in listing  # one line, as every title there


def test_every_file_reindex_skips_is_reported_and_a_skipped_story_is_not_archived_again(tmp_path, site):
    archive = tmp_path / "news"
    folder = archive / "articles/voa"
    folder.mkdir(parents=True)
    article = ORIGINAL.format(t=1715000000000, title="文章{n}", link=site.base + "/a/{n}.html", body="<p>正文。</p>")
    (folder / "1048574.md").write_text(article.format(n=1), encoding="utf-8")
    (folder / "1048574_文章2.md").write_text(article.format(n=2), encoding="utf-8")  # a second file with its number
    (folder / "1048573_标题\n换行.md").write_text(article.format(n=3), encoding="utf-8")  # read: <n> is the number
    (folder / "notes.txt").write_text("not an article")
    (archive / "articles/README.md").write_text("not in a feed folder")
    url = site.add("/feed.xml", rss(item(4, "Wed, 08 May 2024 10:00:00 GMT"), item(3), item(2, body="<p>正文。</p>"),
                                    item(1)))
    newsmirror("--archive", archive, "add", url, "--id", "voa", "--title", "美国之音")

    result = newsmirror("--archive", archive, "reindex")
    assert "voa: 2 articles" in result.out
    assert result.err.splitlines() == [
        "skipped articles/README.md (not in a feed folder)",
        ("skipped articles/voa/1048574_文章2.md (article 1048574 is 1048574.md; its story is recorded as voa/1048572,"
         " so the feed does not archive it again)"),
        "skipped articles/voa/notes.txt (not named <n>.md or <n>_<title>.md)"]

    assert "voa: 1 new, 2 revised" in newsmirror("--archive", archive, "run").out  # article 4 only (1 and 3 edited)
    assert sorted(p.name for p in folder.iterdir() if p.name != ".identity.jsonl") == [
        "1048571.md", "1048573_标题\n换行.md", "1048574.md", "1048574_文章2.md", "notes.txt"]


def test_many_skipped_files_are_counted_and_listed_in_full_in_a_file(tmp_path):
    from newsmirror import config as configuration

    archive = Archive(tmp_path / "m")
    folder = archive.root / "articles/voa"
    folder.mkdir(parents=True)
    configuration.add_feed(archive.config_path, "voa", "https://www.voachinese.com/feed", "美国之音")
    for i in range(25):
        (folder / f"draft-{i:02}.md").write_text("草稿", encoding="utf-8")
    result = newsmirror("--archive", archive.root, "reindex")
    listing = archive.state_dir / "reindex-skipped.txt"
    assert result.err.splitlines()[0] == f"skipped 25 files; the first 20 below, all of them in {listing}"
    assert len(result.err.splitlines()) == 21
    assert listing.read_text(encoding="utf-8").splitlines() == [
        f"articles/voa/draft-{i:02}.md (not named <n>.md or <n>_<title>.md)" for i in range(25)]


def test_an_adopted_readme_keeps_its_own_text_through_reindex_and_run(tmp_path, site):
    archive = tmp_path / "news"
    (archive / "articles").mkdir(parents=True)
    own = ("抓取新闻媒体文章\n------\n\n本仓库备份新闻。\n\n[纽约时报](lists/纽约时报.md)\n\n[美国之音](lists/美国之音.md)\n\n"
           "鸣谢\n------\n\nhttps://feedx.net/\n")
    (archive / "README.md").write_text(own, encoding="utf-8")
    newsmirror("--archive", archive, "add", site.add("/feed.xml", rss(item(1))), "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "add", site.add("/dw.xml", rss(item(2))), "--id", "dw", "--title", "德国之声")

    assert newsmirror("--archive", archive, "reindex").code == 0
    assert newsmirror("--archive", archive, "run").code == 0
    assert (archive / "README.md").read_text(encoding="utf-8") == (
        "抓取新闻媒体文章\n------\n\n本仓库备份新闻。\n\n<!-- newsmirror:begin -->\n[美国之音](lists/美国之音.md)\n\n"
        "[德国之声](lists/德国之声.md)\n<!-- newsmirror:end -->\n\n鸣谢\n------\n\nhttps://feedx.net/\n")
