"""The command line as a user meets it: init, add, remove, list, run, reindex, exit statuses."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

from support import item, newsmirror, rss

from newsmirror import config
from newsmirror.ci import EXAMPLE
from newsmirror.store import open_store
from newsmirror.store.migrations import MIGRATIONS


def test_init_writes_the_default_feed_set(tmp_path):
    archive = tmp_path / "m"
    result = newsmirror("init", "--archive", archive)
    assert result.code == 0
    text = (archive / "newsmirror.toml").read_text(encoding="utf-8")
    feeds = config.parse(text).feeds
    assert [(f.id, f.title) for f in feeds] == [
        ("voa", "美国之音"), ("rfa", "自由亚洲电台"), ("bbc", "BBC"), ("dw", "德国之声"), ("nyt", "纽约时报"),
        ("rfi", "法广"), ("ft", "金融时报"), ("cdt", "中国数字时代")]
    assert text.count("# ") > 10  # commented
    assert (archive / ".gitignore").read_text() == ".newsmirror/\n.nm-tmp-*\n"  # state, and files being written
    assert newsmirror("init", "--archive", archive).code == 2  # never overwrites


def test_init_ci_writes_a_workflow_installing_a_pinned_spec(tmp_path):
    """newsmirror is not on the package index: the workflow installs what --install names, pinned."""
    archive = tmp_path / "m"
    missing = newsmirror("init", "--archive", archive, "--ci", "github")
    assert missing.code == 2 and missing.err == (
        "newsmirror: --install: required with --ci (newsmirror is not on the package index), "
        f'e.g. --install "{EXAMPLE}"\n')
    unpinned = newsmirror("init", "--archive", archive, "--ci", "github", "--install", "git+https://github.com/you/newsmirror")
    assert unpinned.code == 2 and "--install: 'git+https://github.com/you/newsmirror' does not pin a version" in unpinned.err
    assert newsmirror("init", "--archive", archive, "--install", EXAMPLE).err == "newsmirror: --install: only with --ci\n"
    assert not archive.exists()  # nothing written before the arguments are known to be good

    assert newsmirror("init", "--archive", archive, "--ci", "github", "--install", "newsmirror==0.2.0").code == 0
    assert 'run: python -m pip install "newsmirror==0.2.0"\n' in (archive / ".github/workflows/newsmirror.yml").read_text()


def test_archive_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSMIRROR_ARCHIVE", str(tmp_path / "env"))
    assert newsmirror("init").code == 0
    assert (tmp_path / "env/newsmirror.toml").exists()


def test_add_creates_the_folder_and_takes_id_and_title_from_the_feed(tmp_path, site):
    url = site.add("/feed.xml", rss(item(1), title="自家的标题"))
    archive = tmp_path / "new"
    result = newsmirror("--archive", archive, "add", url)
    assert result.code == 0, result.err
    (feed,) = config.load(archive / "newsmirror.toml").feeds
    assert feed.id == "127-0-0-1" and feed.title == "自家的标题" and feed.url == url
    assert newsmirror("--archive", archive, "add", url).code == 2  # already there
    assert newsmirror("--archive", archive, "add", "ftp://x/feed").code == 2


def test_add_refuses_a_url_that_answers_an_http_error_unless_forced(tmp_path, site):
    archive = tmp_path / "m"
    for status in (404, 410, 503):
        url = site.add(f"/{status}.xml", "gone", status=status, content_type="text/plain")
        refused = newsmirror("--archive", archive, "add", url)
        assert refused.code == 1 and refused.err.startswith(f"newsmirror: URL answered HTTP {status} ")
        assert refused.err.endswith("; not added (--force to add anyway)\n")
    assert not (archive / "newsmirror.toml").exists()
    forced = newsmirror("--archive", archive, "add", site.url("/404.xml"), "--id", "x", "--force")
    assert forced.code == 0 and "warning: URL answered HTTP 404 Not Found; added anyway (--force)" in forced.err
    assert [f.url for f in config.load(archive / "newsmirror.toml").feeds] == [site.url("/404.xml")]


def test_add_refuses_what_is_no_feed_or_cannot_be_reached(tmp_path, site):
    archive = tmp_path / "m"
    page = site.add("/page.html", "<!doctype html><html><body>新闻</body></html>", content_type="text/html")
    refused = newsmirror("--archive", archive, "add", page)
    assert refused.code == 1
    assert refused.err == ("newsmirror: URL is not a feed: the server sent an HTML page; "
                           "not added (--force to add anyway)\n")
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/feed.xml"
    unreachable = newsmirror("--archive", archive, "add", nowhere)
    assert unreachable.code == 1 and unreachable.err.startswith("newsmirror: URL cannot be read now: ")
    assert newsmirror("--archive", archive, "add", nowhere, "--id", "later", "--force").code == 0
    assert [f.id for f in config.load(archive / "newsmirror.toml").feeds] == ["later"]


def test_add_given_a_page_adds_the_feed_it_names(tmp_path, site):
    archive = tmp_path / "m"
    site.add("/feeds/rss.xml", rss(item(1), title="新闻网"))
    page = site.add("/index.html", '<html><head><link rel="alternate" type="application/rss+xml" href="feeds/rss.xml">'
                    "</head><body>首页</body></html>", content_type="text/html; charset=utf-8")
    result = newsmirror("--archive", archive, "add", page)
    assert result.code == 0, result.err
    assert result.out == (f"found the feed {site.url('/feeds/rss.xml')} on the page; adding it\n"
                          f"Added 127-0-0-1 (新闻网): {site.url('/feeds/rss.xml')}\n")
    assert newsmirror("--archive", archive, "add", page).code == 2  # the feed it names is in the mirror already


def test_add_given_a_page_naming_several_feeds_lists_them(tmp_path, site):
    archive = tmp_path / "m"
    links = "".join(f'<link rel="alternate" type="application/{kind}" href="/{name}">'
                    for kind, name in (("rss+xml", "rss.xml"), ("atom+xml", "atom.xml"), ("rss+xml", "rss.xml")))
    page = site.add("/", f"<html><head>{links}</head></html>", content_type="text/html")
    result = newsmirror("--archive", archive, "add", page)
    assert result.code == 1 and not (archive / "newsmirror.toml").exists()
    assert result.err == (f"  1. {site.url('/rss.xml')}\n  2. {site.url('/atom.xml')}\n"
                          "newsmirror: URL is a page naming 2 feeds (above); pass one of them to `add`\n")


def test_remove_keeps_articles(tmp_path, site):
    url = site.add("/feed.xml", rss(item(1)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", url, "--id", "t", "--title", "T")
    newsmirror("--archive", archive, "run")
    assert newsmirror("--archive", archive, "remove", "t").code == 0
    assert config.load(archive / "newsmirror.toml").feeds == ()
    assert (archive / "articles/t/1048574.md").exists()
    assert newsmirror("--archive", archive, "remove", "t").code == 2


def test_remove_before_any_pass_writes_no_readme(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a")
    assert newsmirror("--archive", archive, "remove", "a").out == "Removed a: no longer mirrored\n"
    assert not (archive / "README.md").exists()


def shown_feeds(archive) -> tuple[list[str], list[str]]:
    """The feeds README.md links to their lists, and those the site's home page lists, as shown."""
    readme = re.findall(r"^\[(.*)\]\(lists/.*\.md\)$", (archive / "README.md").read_text(encoding="utf-8"), re.M)
    home = (archive / "site/index.html").read_text(encoding="utf-8")
    return readme, ["".join(f) for f in re.findall(r'<a href="feeds/[^/"]+/index.html">([^<]*)</a>([^<]*)</td>', home)]


def test_a_removed_feed_stays_listed_as_no_longer_mirrored_everywhere(tmp_path, site):
    """The archive keeps the record: README.md, the site and feeds/all.* show the removed feed's
    articles, marked as no longer mirrored, from the moment it is removed."""
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a", "--title", "甲")
    newsmirror("--archive", archive, "add", site.add("/b.xml", rss(item(2))), "--id", "b", "--title", "乙")
    newsmirror("--archive", archive, "run")
    newsmirror("--archive", archive, "site")
    result = newsmirror("--archive", archive, "remove", "b")
    assert result.out == "Removed b: no longer mirrored; its articles stay, listed as 乙（已停止镜像）\n"
    assert shown_feeds(archive)[0] == ["甲", "乙（已停止镜像）"]
    assert "[文章2](/articles/b/1048574.md)" in (archive / "lists/乙.md").read_text(encoding="utf-8")
    newsmirror("--archive", archive, "run")
    newsmirror("--archive", archive, "site")
    assert shown_feeds(archive) == (["甲", "乙（已停止镜像）"], ["甲", "乙（已停止镜像）"])
    assert "文章2" in (archive / "feeds/all.xml").read_text(encoding="utf-8")


def test_run_prints_a_line_per_feed_and_a_total_and_list_shows_state(tmp_path, site):
    good = site.add("/good.xml", rss(item(1), item(2)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", good, "--id", "good", "--title", "Good")
    newsmirror("--archive", archive, "add", site.url("/missing.xml"), "--id", "gone", "--title", "Gone", "--force")
    result = newsmirror("--archive", archive, "run")
    assert result.code == 0
    assert "good: 2 new" in result.out
    assert "gone: failed: HTTP 404 Not Found" in result.out
    assert "2 feeds: 2 new articles, 0 revised, 0 completed, 0 removed, 1 failed\n" in result.out
    assert "Every feed tried failed" not in result.out  # one did not
    assert newsmirror("--archive", archive, "run", "--strict").code == 1
    rows = json.loads(newsmirror("--archive", archive, "list", "--json").out)
    by_id = {r["id"]: r for r in rows}
    assert by_id["good"]["articles"] == 2 and by_id["good"]["last_error"] is None and by_id["good"]["last_success"]
    assert by_id["gone"]["articles"] == 0 and by_id["gone"]["last_error"] == "HTTP 404 Not Found"
    assert by_id["gone"]["last_success"] is None and by_id["gone"]["last_attempt"]
    table = newsmirror("--archive", archive, "list").out
    assert "HTTP 404 Not Found" in table and "never" in table


def test_a_folder_whose_feeds_are_all_disabled_says_so_in_list_and_run(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a", "--title", "A")
    (archive / "newsmirror.toml").write_text((archive / "newsmirror.toml").read_text() + "enabled = false\n")
    (row,) = json.loads(newsmirror("--archive", archive, "list", "--json").out)
    assert row["enabled"] is False
    assert "disabled in the configuration" in newsmirror("--archive", archive, "list").out
    for command in (["run"], ["run", "--feed", "a"]):
        result = newsmirror("--archive", archive, *command)
        assert result.code == 1 and result.out == ""
        assert result.err.startswith("newsmirror: no enabled feed") and "`enabled = true`" in result.err


def test_run_only_the_named_feeds(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a", "--title", "A")
    newsmirror("--archive", archive, "add", site.add("/b.xml", rss(item(2))), "--id", "b", "--title", "B")
    result = newsmirror("--archive", archive, "run", "--feed", "b")
    assert "b: 1 new" in result.out and "a:" not in result.out
    bad = newsmirror("--archive", archive, "run", "--feed", "zzz")
    assert bad.code == 2 and "--feed" in bad.err and "zzz" in bad.err


def test_configuration_errors_name_file_line_and_key(tmp_path):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text('[fetch]\ntimeout = 30\n\n[[feeds]]\nid = "x"\nurl = "http://x/"\nfull_txt = "auto"\n')
    result = newsmirror("--archive", archive, "run")
    assert result.code == 2
    assert f"{archive / 'newsmirror.toml'}:7:" in result.err and "full_txt" in result.err


def test_run_without_a_mirror_creates_one_with_the_default_feeds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = newsmirror("run")  # the default feeds are unreachable here: every one fails, the pass completes
    assert result.code == 0
    assert "created one with the default feeds" in result.out
    assert (tmp_path / "archive/newsmirror.toml").exists()
    assert "8 feeds: 0 new articles, 0 revised, 0 completed, 0 removed, 8 failed\n" in result.out
    assert result.out.endswith("Every feed tried failed. If this machine cannot reach them (no network, a block), try:\n"
                               f'  a proxy: [fetch] proxy = "socks5://127.0.0.1:1080" in {Path("archive/newsmirror.toml")}\n'
                               "  newsmirror --archive archive doctor (checks the network, each feed and the configuration)\n"
                               "  newsmirror demo (mirrors bundled sample feeds, with no network)\n")
    assert (tmp_path / "archive/README.md").read_text(encoding="utf-8").count("](lists/") == 8
    again = newsmirror("run")  # every feed waits for its back-off: nothing tried, nothing failed
    assert again.code == 0 and "\n8 feeds: 0 new articles, 0 revised, 0 completed, 0 removed, 0 failed, 8 deferred (until 20" in again.out
    assert again.out.endswith(", `--force` to try now)\n")


def test_deferred_feeds_are_counted_apart_from_failed_ones(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/good.xml", rss(item(1))), "--id", "good")
    newsmirror("--archive", archive, "add", site.url("/gone.xml"), "--id", "gone", "--force")
    assert "1 failed\n" in newsmirror("--archive", archive, "run").out
    result = newsmirror("--archive", archive, "run")
    assert result.code == 0 and "gone: deferred: until 20" in result.out
    total = result.out.splitlines()[-1]
    assert total.startswith("2 feeds: 0 new articles, 0 revised, 0 completed, 0 removed, 0 failed, 1 deferred (until 20")
    assert re.search(r"until 20\d\d-\d\d-\d\d \d\d:\d\d UTC\+8, `--force` to try now\)$", total), total
    assert newsmirror("--archive", archive, "run", "--strict").code == 1  # a feed deferred after failing still fails it


def test_when_every_feed_tried_fails_run_says_what_to_try(tmp_path, site):
    archive = tmp_path / "m"
    for name in ("a", "b"):
        newsmirror("--archive", archive, "add", site.url(f"/{name}.xml"), "--id", name, "--force")
    first = newsmirror("--archive", archive, "run", "--feed", "a")
    assert "Every feed tried failed." in first.out and "run --force" not in first.out
    second = newsmirror("--archive", archive, "run")  # a deferred, b tried and failed
    assert "0 new articles, 0 revised, 0 completed, 0 removed, 1 failed, 1 deferred (until " in second.out
    assert second.out.endswith(f"  newsmirror --archive {archive} run --force (tries the deferred feeds now too)\n")
    assert "Every feed tried failed." not in newsmirror("--archive", archive, "run").out  # nothing tried


def test_python_dash_m_works(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "newsmirror", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("newsmirror ")


def test_unknown_command_is_a_usage_error():
    assert newsmirror("frobnicate").code == 2


def test_search_finds_chinese_of_any_length_across_scripts(tmp_path, site):
    archive = tmp_path / "m"
    items = [item(1, title="拉法过境点", body="<p>以色列占领拉法过境点加沙一侧。</p>" * 8, date="Mon, 06 May 2024 10:00:00 GMT"),
             item(2, title="台湾选举", body="<p>台湾举行地方选举，投票率创新高。</p>" * 8, date="Tue, 07 May 2024 10:00:00 GMT")]
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(*items)), "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "run")
    two = newsmirror("--archive", archive, "search", "选举")
    assert two.code == 0 and "voa/1048573" in two.out and "[选举]" in two.out and "1 result" in two.out
    assert str(archive / "articles/voa/1048573.md") in two.out
    traditional = json.loads(newsmirror("--archive", archive, "search", "過境點", "--json").out)
    assert [(h["feed"], h["number"], h["path"]) for h in traditional] == [("voa", 1048574, "articles/voa/1048574.md")]
    assert json.loads(newsmirror("--archive", archive, "search", "以", "--json", "--since", "2024-05-07").out) == []
    assert newsmirror("--archive", archive, "search", "选举", "--until", "not a date").code == 2
    assert newsmirror("--archive", archive, "search", '"AND (').code == 0


def test_times_people_read_are_in_the_display_zone_and_labelled_json_keeps_utc(tmp_path, site):
    archive = tmp_path / "m"
    site.add("/f.xml", rss(item(1, title="选举", date="Tue, 07 May 2024 10:00:00 GMT")))
    newsmirror("--archive", archive, "add", site.url("/f.xml"), "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "run")
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d "
    assert "voa/1048574  2024-05-07 18:00 UTC+8  " in newsmirror("--archive", archive, "search", "选举").out  # the default
    assert re.search(stamp + r"UTC\+8 +" + stamp + r"UTC\+8", newsmirror("--archive", archive, "list").out)
    with (archive / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[display]\ntimezone = "Asia/Kolkata"\n')
    assert "voa/1048574  2024-05-07 15:30 UTC+5:30  " in newsmirror("--archive", archive, "search", "选举").out
    assert re.search(stamp + r"UTC\+5:30 +" + stamp + r"UTC\+5:30", newsmirror("--archive", archive, "list").out)
    assert re.match(r"  1  " + stamp + r"UTC\+5:30  ", newsmirror("--archive", archive, "history", "voa/1048574").out.splitlines()[1])
    assert json.loads(newsmirror("--archive", archive, "search", "选举", "--json").out)[0]["published"] == "2024-05-07T10:00:00Z"
    assert json.loads(newsmirror("--archive", archive, "list", "--json").out)[0]["last_success"].endswith("Z")


def test_search_recovers_articles_a_killed_pass_did_not_index(tmp_path, site):
    import newsmirror.pipeline as pipeline

    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1, title="第一篇"))), "--id", "f", "--title", "F")
    newsmirror("--archive", archive, "run")
    site.add("/f.xml", rss(item(2, title="第二篇"), item(1, title="第一篇")))
    def killed(*args, **kwargs):  # the pass dies before indexing
        raise KeyboardInterrupt

    real = pipeline.index
    pipeline.index = killed
    try:
        newsmirror("--archive", archive, "run")
    finally:
        pipeline.index = real
    site.add("/f.xml", rss(item(3, title="第三篇"), item(2, title="第二篇"), item(1, title="第一篇")))
    newsmirror("--archive", archive, "run")
    assert "f/1048573" in newsmirror("--archive", archive, "search", "第二篇").out


def searchable(tmp_path, site, articles: int = 3):
    """A mirror of one feed, voa, whose every article holds 选举."""
    archive = tmp_path / "m"
    items = [item(n, title=f"选举{n}", body=f"<p>第{n}次选举，投票率创新高。</p>" * 8) for n in range(1, articles + 1)]
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(*items)), "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "run")
    return archive


def test_search_for_punctuation_alone_is_a_usage_error(tmp_path, site):
    archive = searchable(tmp_path, site)
    result = newsmirror("--archive", archive, "search", ":")
    assert result.code == 2 and result.err == "newsmirror: QUERY: nothing to search for in ':'\n" and not result.out
    assert newsmirror("--archive", archive, "search", "选举:").out.endswith("3 results\n")  # the words only


def test_search_in_an_unknown_feed_says_which_feeds_there_are(tmp_path, site):
    archive = searchable(tmp_path, site)
    result = newsmirror("--archive", archive, "search", "选举", "--feed", "vao")
    assert result.code == 2 and result.err == "newsmirror: --feed: no feed 'vao' (known: voa)\n"
    newsmirror("--archive", archive, "remove", "voa")
    kept = newsmirror("--archive", archive, "search", "选举", "--feed", "voa")  # its articles stay, and are found
    assert kept.code == 0 and kept.out.endswith("3 results\n")


def test_search_with_a_limit_says_how_many_there_are(tmp_path, site):
    archive = searchable(tmp_path, site)
    result = newsmirror("--archive", archive, "search", "选举", "--limit", "2")
    assert result.code == 0 and result.out.count(".md\n") == 2 and result.out.endswith("2 of 3 results\n")
    assert newsmirror("--archive", archive, "search", "选举", "--limit", "3").out.endswith("3 results\n")
    hits = json.loads(newsmirror("--archive", archive, "search", "选举", "--limit", "2", "--json").out)
    assert [(h["feed"], h["total"], h["total_exact"]) for h in hits] == [("voa", 3, True), ("voa", 3, True)]


def test_search_says_more_than_total_max_without_counting_them_all(tmp_path, site, monkeypatch):
    from newsmirror import search

    archive = searchable(tmp_path, site, articles=5)
    monkeypatch.setattr(search, "TOTAL_MAX", 3)
    assert newsmirror("--archive", archive, "search", "选举", "--limit", "2").out.endswith("2 of more than 3 results\n")
    hits = json.loads(newsmirror("--archive", archive, "search", "选举", "--limit", "2", "--json").out)
    assert [(h["total"], h["total_exact"]) for h in hits] == [(3, False), (3, False)]
    monkeypatch.setattr(search, "TOTAL_MAX", 5)
    assert newsmirror("--archive", archive, "search", "选举", "--limit", "2").out.endswith("2 of 5 results\n")


def test_add_makes_the_feed_s_own_title_one_line(tmp_path, site):
    url = site.add("/feed.xml", rss(item(1), title="自家的\n  标题"))
    assert newsmirror("--archive", tmp_path / "m", "add", url, "--id", "own").code == 0
    assert config.load(tmp_path / "m/newsmirror.toml").feed("own").title == "自家的 标题"


def test_a_new_id_never_differs_from_one_in_use_only_by_case(tmp_path, site):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text('[[feeds]]\nid = "127-0-0-1"\nurl = "https://example.com/a"\n'
                                             '[[feeds]]\nid = "Feed-2"\nurl = "https://example.com/b"\n')
    first = newsmirror("--archive", archive, "add", site.add("/1.xml", rss(item(1))), "--title", "一")
    second = newsmirror("--archive", archive, "add", site.add("/2.xml", rss(item(2))), "--title", "二")
    assert first.code == second.code == 0
    assert [f.id for f in config.load(archive / "newsmirror.toml").feeds] == ["127-0-0-1", "Feed-2", "127-0-0-1-2", "127-0-0-1-3"]
    refused = newsmirror("--archive", archive, "add", site.add("/3.xml", rss(item(3))), "--id", "feed-2", "--title", "三")
    assert refused.code == 2 and "'feed-2' differs from the id 'Feed-2' only in case" in refused.err


def test_migrate_creates_or_upgrades_the_embedded_state_by_default(tmp_path):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "init")
    state = archive / ".newsmirror" / "archive.db"
    assert newsmirror("--archive", archive, "migrate").out == f"{state}: schema {len(MIGRATIONS)}, upgraded from 0\n"
    assert newsmirror("--archive", archive, "migrate").out == f"{state}: schema {len(MIGRATIONS)}, up to date\n"


def test_a_mirror_keeps_its_state_in_the_postgresql_database_its_configuration_names(tmp_path, site, pg_url):
    url = site.add("/feed.xml", rss(item(1), item(2)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", url, "--id", "t", "--title", "T")
    with (archive / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[store]\nurl = "{pg_url}"\n')
    before = newsmirror("--archive", archive, "run")
    assert before.code == 1 and f"schema 0 of {len(MIGRATIONS)}: run `newsmirror migrate`" in before.err
    migrated = newsmirror("--archive", archive, "migrate")
    assert migrated.out == (f"PostgreSQL database {pg_url.rpartition('/')[2].partition('?')[0]}: schema {len(MIGRATIONS)},"
                            " upgraded from 0\njob queue: created\n")  # the workers' (queueing.py)
    assert newsmirror("--archive", archive, "run").code == 0
    assert sorted(p.name for p in (archive / "articles" / "t").glob("*.md")) == ["1048573.md", "1048574.md"]
    state = open_store(archive / ".newsmirror", pg_url)
    assert state.counts() == {"t": 2} and state.pending() == [] and state.feed("t").url == url
    state.close()
    assert json.loads(newsmirror("--archive", archive, "list", "--json").out)[0]["articles"] == 2
    rebuilt = newsmirror("--archive", archive, "reindex")  # from the files, into the same database
    assert rebuilt.code == 0 and rebuilt.out.endswith("2 articles indexed\n")
    site.add("/feed.xml", rss(item(1), item(2), item(3)))
    assert newsmirror("--archive", archive, "run").code == 0
    assert len(list((archive / "articles" / "t").glob("*.md"))) == 3  # the rebuilt state knew 1 and 2


def test_search_on_postgresql_finds_what_a_pass_indexed_there(tmp_path, site, pg_url):
    """[store] url: a pass indexes into the database's search tables (no search.db beside the
    archive), `search` answers from them as from SQLite's index, and `reindex` builds them again."""
    items = [item(1, title="拉法过境点", body="<p>以色列占领拉法过境点加沙一侧。</p>", date="Mon, 06 May 2024 10:00:00 GMT"),
             item(2, title="台湾选举", body="<p>台湾举行地方选举，投票率创新高。</p>", date="Tue, 07 May 2024 10:00:00 GMT")]
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(*items)), "--id", "voa", "--title", "美国之音")
    with (archive / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[store]\nurl = "{pg_url}"\n')
    newsmirror("--archive", archive, "migrate")
    assert newsmirror("--archive", archive, "run").code == 0
    assert not (archive / ".newsmirror" / "search.db").exists()
    two = newsmirror("--archive", archive, "search", "选举")
    assert two.code == 0 and "voa/1048573" in two.out and "[选举]" in two.out and "1 result" in two.out
    traditional = json.loads(newsmirror("--archive", archive, "search", "過境點", "--json").out)
    assert [(h["feed"], h["number"]) for h in traditional] == [("voa", 1048574)]
    assert json.loads(newsmirror("--archive", archive, "search", "以", "--json", "--since", "2024-05-07").out) == []
    assert newsmirror("--archive", archive, "reindex").code == 0
    assert "voa/1048574" in newsmirror("--archive", archive, "search", "拉法").out
    assert not (archive / ".newsmirror" / "search.db").exists()


def test_a_store_url_that_is_not_postgresql_stops_the_command_with_its_line(tmp_path):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "init")
    with (archive / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[store]\nurl = "mysql://db/news"\n')
    result = newsmirror("--archive", archive, "migrate")
    assert result.code == 2 and "store.url: must be a postgresql:// URL, not 'mysql://db/news'" in result.err
