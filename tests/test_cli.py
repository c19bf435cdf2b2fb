"""The command line as a user meets it: init, add, remove, list, run, reindex, exit statuses."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from support import item, newsmirror, rss

from newsmirror import config


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


def test_remove_keeps_articles(tmp_path, site):
    url = site.add("/feed.xml", rss(item(1)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", url, "--id", "t", "--title", "T")
    newsmirror("--archive", archive, "run")
    assert newsmirror("--archive", archive, "remove", "t").code == 0
    assert config.load(archive / "newsmirror.toml").feeds == ()
    assert (archive / "articles/t/1048574.md").exists()
    assert newsmirror("--archive", archive, "remove", "t").code == 2


def test_run_prints_a_line_per_feed_and_a_total_and_list_shows_state(tmp_path, site):
    good = site.add("/good.xml", rss(item(1), item(2)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", good, "--id", "good", "--title", "Good")
    newsmirror("--archive", archive, "add", site.url("/missing.xml"), "--id", "gone", "--title", "Gone")
    result = newsmirror("--archive", archive, "run")
    assert result.code == 0
    assert "good: 2 new" in result.out
    assert "gone: failed: HTTP 404 Not Found" in result.out
    assert "2 feeds: 2 new articles, 0 revised, 0 completed, 0 removed, 1 failed" in result.out
    assert newsmirror("--archive", archive, "run", "--strict").code == 1
    rows = json.loads(newsmirror("--archive", archive, "list", "--json").out)
    by_id = {r["id"]: r for r in rows}
    assert by_id["good"]["articles"] == 2 and by_id["good"]["last_error"] is None and by_id["good"]["last_success"]
    assert by_id["gone"]["articles"] == 0 and by_id["gone"]["last_error"] == "HTTP 404 Not Found"
    assert by_id["gone"]["last_success"] is None and by_id["gone"]["last_attempt"]
    table = newsmirror("--archive", archive, "list").out
    assert "HTTP 404 Not Found" in table and "never" in table


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
    assert "8 feeds: 0 new articles, 0 revised, 0 completed, 0 removed, 8 failed" in result.out
    assert (tmp_path / "archive/README.md").read_text(encoding="utf-8").count("](lists/") == 8


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
    real = pipeline.index
    pipeline.index = lambda *args, **kwargs: 0  # the pass dies before indexing
    try:
        newsmirror("--archive", archive, "run")
    finally:
        pipeline.index = real
    site.add("/f.xml", rss(item(3, title="第三篇"), item(2, title="第二篇"), item(1, title="第一篇")))
    newsmirror("--archive", archive, "run")
    assert "f/1048573" in newsmirror("--archive", archive, "search", "第二篇").out


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
