"""One pass end to end against local feeds: identity, numbering, failures, crash safety, the lock."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import item, newsmirror, rss

from newsmirror import config as configuration
from newsmirror.archive import Archive, ArchiveLocked
from newsmirror.pipeline import FeedResult, run_pass
from newsmirror.render import feeds as republish
from newsmirror.render.markdown import read_article
from newsmirror.store import Store


def make_mirror(tmp_path: Path, *feeds: tuple[str, str]) -> Archive:
    archive = Archive(tmp_path / "m")
    archive.root.mkdir(parents=True)
    for feed_id, url in feeds:
        configuration.add_feed(archive.config_path, feed_id, url, feed_id.upper())
    archive.prepare()
    return archive


def run(archive: Archive, **kw):
    return run_pass(archive, configuration.load(archive.config_path), **kw)


def articles(archive: Archive, feed_id: str) -> dict[int, tuple[int, str, str, str]]:
    return {n: read_article(p.read_text(encoding="utf-8")) for n, p in archive.numbers_on_disk(feed_id).items()}


def test_new_entries_are_numbered_oldest_first_counting_down(tmp_path, site):
    url = site.add("/f.xml", rss(item(3, "Wed, 08 May 2024 10:00:00 GMT"), item(2, "Tue, 07 May 2024 10:00:00 GMT"),
                                 item(1, "Mon, 06 May 2024 10:00:00 GMT")))
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    got = {n: a[1] for n, a in articles(archive, "f").items()}
    assert got == {1048574: "文章1", 1048573: "文章2", 1048572: "文章3"}
    listing = (archive.root / "lists/F.md").read_text(encoding="utf-8")
    assert listing.index("文章3") < listing.index("文章2") < listing.index("文章1")


def test_a_late_item_with_an_old_date_is_still_archived(tmp_path, site):
    url = site.add("/f.xml", rss(item(2, "Wed, 08 May 2024 10:00:00 GMT")))
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    # The original mirror kept only items newer than the last one it had: this one was lost.
    site.add("/f.xml", rss(item(2, "Wed, 08 May 2024 10:00:00 GMT"), item(1, "Mon, 06 May 2024 10:00:00 GMT")))
    report = run(archive)
    assert report.new == 1
    assert articles(archive, "f")[1048573][1] == "文章1"


def test_an_item_whose_date_changed_is_not_written_again(tmp_path, site):
    url = site.add("/f.xml", rss(item(1, "Mon, 06 May 2024 10:00:00 GMT")))
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    site.add("/f.xml", rss(item(1, "Tue, 07 May 2024 12:00:00 GMT")))
    assert run(archive).new == 0
    assert list(articles(archive, "f")) == [1048574]


def test_entries_without_guid_are_identified_by_canonical_link(tmp_path, site):
    def doc(query: str) -> str:
        return rss(f"<item><title>无guid</title><link>__BASE__/a/1.html{query}</link>"
                   f"<description><![CDATA[{'<p>正文。</p>' * 30}]]></description></item>")
    url = site.add("/f.xml", doc(""))
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    site.add("/f.xml", doc("?utm_source=rss&utm_medium=feed"))
    assert run(archive).new == 0


def test_numbering_continues_below_the_smallest_number_in_the_folder(tmp_path, site):
    url = site.add("/f.xml", rss(item(1)))
    archive = make_mirror(tmp_path, ("f", url))
    folder = archive.root / "articles/f"
    folder.mkdir(parents=True)
    (folder / "1000000.md").write_text("<!--1-->\n[old](https://x/old)\n------\n\n<p>old</p>\n")
    run(archive)
    assert sorted(articles(archive, "f")) == [999999, 1000000]


def test_a_pass_reads_no_article_folder_of_a_feed_it_already_archived_into(tmp_path, site, monkeypatch):
    # Reading every folder cost a pass seconds at 1,000,000 articles (bench/growth.py): the
    # numbers in use are in the database.
    url = site.add("/f.xml", rss(item(1)))
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    site.add("/f.xml", rss(item(2), item(1)))
    read, scan = [], Archive.scan
    monkeypatch.setattr(Archive, "scan", lambda self, feed_id: read.append(feed_id) or scan(self, feed_id))
    assert run(archive).new == 1
    assert read == []
    assert sorted(articles(archive, "f")) == [1048573, 1048574]


def test_a_pass_after_one_that_indexed_its_articles_counts_no_archive(tmp_path, site, monkeypatch):
    # Counting both databases to find an index left short cost every pass 0.1-1 s at 1,000,000
    # articles (bench/growth.py); only a pass that stopped before indexing leaves one short.
    import newsmirror.pipeline as pipeline

    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(item(1)))))
    run(archive)
    monkeypatch.setattr(pipeline, "_index_complete", lambda archive: pytest.fail("counted the articles"))
    monkeypatch.setattr(Store, "count", lambda self: pytest.fail("counted the articles"))
    assert run(archive).indexed == 0
    site.add("/f.xml", rss(item(2), item(1)))
    assert run(archive).indexed == 1


def test_one_failing_feed_does_not_stop_the_others(tmp_path, site):
    good = site.add("/good.xml", rss(item(1)))
    archive = make_mirror(tmp_path, ("html", site.add("/page.html", "<html><body>hi</body></html>", content_type="text/html")),
                          ("err", site.add("/err.xml", "oops", status=500)), ("good", good),
                          ("slow", site.add("/slow.xml", rss(item(9)), delay=3)), ("dead", "http://127.0.0.1:9/feed"))
    text = archive.config_path.read_text() .replace("[[feeds]]", "[[feeds]]", 1)
    archive.config_path.write_text("[fetch]\ntimeout = 1.0\n\n" + text)
    report = run(archive)
    status = {r.feed_id: (r.status, r.error) for r in report.results}
    assert status["good"] == ("new", None)
    assert status["html"] == ("failed", "not a feed: the server sent an HTML page")
    assert status["err"] == ("failed", "HTTP 500 Internal Server Error")
    assert status["slow"][0] == "failed" and "timed out" in status["slow"][1]
    assert status["dead"][0] == "failed"
    store = Store(archive.state_dir)
    assert store.feed("err").last_error == "HTTP 500 Internal Server Error" and store.feed("err").errors == 1
    store.close()


def test_feed_larger_than_the_limit_fails_cleanly(tmp_path, site):
    url = site.add("/big.xml", rss(*(item(i) for i in range(400))))
    archive = make_mirror(tmp_path, ("big", url))
    archive.config_path.write_text("[fetch]\nmax_feed_bytes = 10000\n\n" + archive.config_path.read_text())
    (result,) = run(archive).results
    assert result.status == "failed" and result.error.startswith("too large")


def test_a_second_pass_with_nothing_new_rewrites_nothing(tmp_path, site):
    url = site.add("/f.xml", rss(item(1), item(2)), headers={"ETag": '"v1"'})
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    mtimes = {p: p.stat().st_mtime_ns for p in archive.root.rglob("*.md")}
    time.sleep(0.01)
    run(archive)
    assert {p: p.stat().st_mtime_ns for p in archive.root.rglob("*.md")} == mtimes
    feed_requests = [headers for path, headers in site.requests if path == "/f.xml"]
    assert feed_requests[-1].get("if-none-match") == '"v1"'


def test_a_run_with_nothing_new_imports_no_parser_extractor_or_cleaner(tmp_path, site):
    """Start-up is most of a `run` that finds nothing new: what parses, extracts, cleans and
    reindexes is imported only when a feed brings something."""
    url = site.add("/f.xml", rss(item(1)), headers={"ETag": '"v1"'})
    archive = make_mirror(tmp_path, ("f", url))
    run(archive)
    code = ("import runpy, sys\nsys.argv[1:] = ['--archive', sys.argv[1], 'run']\ntry:\n"
            "    runpy.run_module('newsmirror', run_name='__main__')\nexcept SystemExit as e:\n"
            "    print(e.code, *sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code, str(archive.root)], capture_output=True, text=True, check=True)
    code, *modules = done.stdout.split("\n")[-2].split()
    assert code == "0" and "newsmirror.pipeline" in modules
    heavy = {"newsmirror.process", "newsmirror.parse", "newsmirror.extract", "newsmirror.clean", "newsmirror.reindex",
             "newsmirror.search", "feedparser", "selectolax", "trafilatura", "jinja2",
             "pydantic", "pygments", "click"}  # typer 0.29 and httpx's own command line, 0.1-0.2 s each
    assert heavy.isdisjoint(modules)


def test_awkward_titles_links_and_bodies_follow_the_format(tmp_path, site):
    url = site.add("/f.xml", rss(
        "<item><title>括号](里) [标题]\n  第二行</title><link>__BASE__/a/中文 路径.html</link><guid>g1</guid>"
        "<description></description></item>"))
    archive = make_mirror(tmp_path, ("f", url))
    archive.config_path.write_text(archive.config_path.read_text().replace('title = "F"', 'title = "F"\nfull_text = "never"'))
    run(archive)
    text = (archive.root / "articles/f/1048574.md").read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[1] == f"[括号\\](里) \\[标题\\] 第二行]({site.base}/a/%E4%B8%AD%E6%96%87%20%E8%B7%AF%E5%BE%84.html)"
    assert read_article(text)[1] == "括号](里) [标题] 第二行"  # brackets escaped: one link, the title read back
    assert text.endswith("------\n\n\n") and len(lines) == 6
    assert read_article(text)[2].endswith("%E8%B7%AF%E5%BE%84.html")


def test_nothing_from_the_network_becomes_a_path(tmp_path, site):
    url = site.add("/f.xml", rss(item(1), title="../../逃逸/标题"))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", url, "--id", "f")
    newsmirror("--archive", archive, "run")
    made = [p.relative_to(archive).as_posix() for p in archive.rglob("*.md")]
    assert sorted(made) == ["README.md", "articles/f/1048574.md", "lists/_.._逃逸_标题.md"]


def _killed_pass(root: str) -> None:
    """A pass that dies right after storing its entries, before writing any file."""
    from newsmirror.output import Output

    def die(self, feed):
        os.kill(os.getpid(), signal.SIGKILL)

    Output.write_feed = die
    run(Archive(Path(root)))


def test_a_pass_killed_after_storing_is_completed_by_the_next(tmp_path, site):
    url = site.add("/f.xml", rss(item(1), item(2)), headers={"ETag": '"same"'})
    archive = make_mirror(tmp_path, ("f", url))
    proc = multiprocessing.get_context("fork").Process(target=_killed_pass, args=(str(archive.root),))
    proc.start()
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    assert not list(archive.root.glob("articles/f/*"))
    report = run(archive)
    assert report.new == 0  # stored before the kill: not new, and not stored twice
    assert sorted(articles(archive, "f")) == [1048573, 1048574]
    assert "文章1" in (archive.root / "lists/F.md").read_text(encoding="utf-8")


def test_a_stale_temporary_file_is_removed_and_never_seen_as_an_article(tmp_path, site):
    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(item(1)))))
    folder = archive.root / "articles/f"
    folder.mkdir(parents=True)
    (folder / ".nm-tmp-abc").write_text("<!--1-->\n[half")
    for left in ("lists", "feeds", "."):  # where a pass killed mid-write leaves one too
        (archive.root / left).mkdir(exist_ok=True)
        (archive.root / left / ".nm-tmp-1-2").write_text("half")
    run(archive)
    assert sorted(p.name for p in folder.iterdir()) == [".identity.jsonl", "1048574.md"]
    assert not list(archive.root.rglob(".nm-tmp-*"))


def test_a_second_pass_on_the_same_folder_waits_or_says_why(tmp_path, site):
    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(item(1)))))
    with archive.lock():
        with pytest.raises(ArchiveLocked, match="in use by newsmirror pid"):
            with archive.lock(wait=0.3):
                pass
        result = newsmirror("--archive", archive.root, "run")
        assert result.code == 1 and "in use" in result.err


def test_a_big_pass_uses_every_core_and_writes_the_same_files(tmp_path, site):
    import asyncio
    import os

    from newsmirror.workers import Workers

    pool = Workers(processes=2)

    async def jobs() -> list[int]:
        return await asyncio.gather(*(pool.run(os.getpid) for _ in range(6)))

    pids = asyncio.run(jobs())
    pool.close()
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two worker processes, never this one
    feeds = [(f"f{i:02d}", site.add(f"/f{i}.xml", rss(item(i * 10 + 1), item(i * 10 + 2)))) for i in range(16)]
    big = make_mirror(tmp_path / "big", *feeds)
    report = run(big)
    assert report.new == 2 * 16 and not report.failed
    small = make_mirror(tmp_path / "small", *feeds[:3])
    run(small)
    for feed_id, _ in feeds[:3]:
        assert articles(big, feed_id) == articles(small, feed_id)


SUMMARY_FEED = ("<item><title>只有摘要</title><link>__BASE__/a/7.html</link><guid>g7</guid>"
                "<pubDate>Tue, 07 May 2024 21:39:03 GMT</pubDate><description>一句话摘要。</description></item>")
PAGE = ('<html><head><link rel="canonical" href="https://www.voachinese.com/a/7.html"></head><body>'
        '<div class="cover-media"><figure><img src="https://gdb.voanews.com/p.jpg"><figcaption>图片说明</figcaption>'
        '</figure></div><div class="wsw">' + "".join(f"<p>全文第{i}段。</p>" for i in range(6)) + "</div></body></html>")


def test_a_page_that_cannot_be_had_leaves_a_partial_article_completed_later_in_place(tmp_path, site):
    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(SUMMARY_FEED))))
    site.add("/a/7.html", b"busy", status=503, content_type="text/html")
    run(archive)
    partial = (archive.root / "articles/f/1048574.md").read_text(encoding="utf-8")
    assert read_article(partial)[3] == "一句话摘要。"  # written wrapped in a <div>: one HTML block, never Markdown
    site.add("/a/7.html", PAGE, content_type="text/html")
    report = run(archive)
    assert report.results[0].completed == 1 and report.results[0].line() == "f: nothing new, 1 completed"
    (number, (_, title, _, body)), = articles(archive, "f").items()
    assert number == 1048574 and title == "只有摘要"
    assert body.startswith("<div><i>Tue, 07 May 2024 21:39:03 GMT</i></div><img src=\"https://images.weserv.nl?url=gdb.voanews.com/p.jpg\"")
    assert "全文第5段" in body


def test_page_retries_stop_at_the_limit(tmp_path, site):
    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(SUMMARY_FEED))))
    archive.config_path.write_text("page_retries = 2\n" + archive.config_path.read_text())
    site.add("/a/7.html", b'{"not": "html"}', content_type="application/json")
    for _ in range(4):
        run(archive)
    assert site.hits["/a/7.html"] == 2


def test_a_full_disk_fails_the_feed_loses_nothing_and_the_next_pass_writes_it(tmp_path, site, monkeypatch):
    import errno

    from newsmirror import archive as files

    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(item(1), item(2)))))
    real = files.write_bytes

    def full(path, data):
        if "articles" in path.parts:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(files, "write_bytes", full)
    (result,) = run(archive).results
    assert result.status == "failed" and result.error.endswith("No space left on device")
    assert not list(archive.root.glob("articles/f/*.md"))
    monkeypatch.setattr(files, "write_bytes", real)
    assert run(archive).new == 0  # stored the first time: written now, not fetched as new
    assert sorted(articles(archive, "f")) == [1048573, 1048574]


def test_a_feeds_line_says_what_the_pass_did():
    assert FeedResult("voa", "new", new=2, revised=1, removed=1).line() == "voa: 2 new, 1 revised, 1 removed"
    assert FeedResult("voa", revised=1).line() == "voa: nothing new, 1 revised"
    assert FeedResult("voa", completed=2, removed=1).line() == "voa: nothing new, 2 completed, 1 removed"
    assert FeedResult("voa").line() == "voa: unchanged"


_REAL_WRITE = republish.write
_DIE_ONCE = Path(os.environ.get("TMPDIR", "/tmp")) / f"newsmirror-die-once-{os.getpid()}"


def _killed_once(*args):
    """The worker rendering a re-published feed is killed the first time (an OOM kill)."""
    if not _DIE_ONCE.exists():
        _DIE_ONCE.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_WRITE(*args)


def test_a_worker_killed_while_writing_a_feed_out_is_replaced_and_the_feed_written(tmp_path, site, monkeypatch):
    archive = make_mirror(tmp_path, ("f", site.add("/f.xml", rss(item(1)))))
    _DIE_ONCE.unlink(missing_ok=True)
    monkeypatch.setattr(republish, "write", _killed_once)
    try:
        report = run(archive)
    finally:
        _DIE_ONCE.unlink(missing_ok=True)
    assert not report.problems and report.results[0].status == "new"
    assert (archive.root / "feeds/f.xml").exists() and (archive.root / "feeds/all.xml").exists()
