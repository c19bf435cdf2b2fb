"""Hostile input at the configuration's edge: values that used to load and then failed every
feed of every pass, names that break a checkout on Windows or macOS, feeds that choose titles
to collide, and an OPML file too big for quadratic work."""

from __future__ import annotations

import time

import pytest
from support import item, newsmirror, rss

from newsmirror import config

FEED = '[[feeds]]\nid = "f"\nurl = "{url}"\n'


@pytest.mark.parametrize(("table", "line", "key"), [
    ("[fetch]\ntimeout = nan\n", 2, "fetch.timeout"),
    ("[fetch]\nconcurrency = 10000000000\n", 2, "fetch.concurrency"),
    ("[fetch]\nmax_redirects = -1\n", 2, "fetch.max_redirects"),
    ('[fetch]\nproxy = "ftp://x"\n', 2, "fetch.proxy"),
    ('[fetch]\nheaders = { "X-A" = "1\\r\\nX-B: 2" }\n', 2, "fetch.headers"),
    ('[fetch]\nuser_agent = "newsmirror\\r\\nX-B: 2"\n', 2, "fetch.user_agent"),
], ids=["nan timeout", "concurrency", "max_redirects", "ftp proxy", "CRLF header", "CRLF user agent"])
def test_run_refuses_what_would_fail_every_feed_before_fetching_any(tmp_path, site, table, line, key):
    url = site.add("/f.xml", rss(item(1)))
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(table + FEED.format(url=url), encoding="utf-8")
    result = newsmirror("--archive", archive, "run")
    assert result.code == 2
    assert result.err.startswith(f"newsmirror: {archive / 'newsmirror.toml'}:{line}: {key}: ")
    assert not site.hits and not (archive / "articles").exists()


@pytest.mark.parametrize("command", [
    ["init"], ["add", "https://example.com/feed", "--id", "x", "--title", "X"], ["run"], ["list"], ["export-opml"],
    ["remove", "x"], ["doctor"], ["reindex"], ["search", "新闻"], ["site"], ["import-opml", "feeds.opml"]],
    ids=lambda command: command[0])
def test_a_directory_named_newsmirror_toml_is_a_one_line_usage_error(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feeds.opml").write_text('<opml><body><outline xmlUrl="https://example.com/f"/></body></opml>')
    directory = tmp_path / "m" / "newsmirror.toml"
    directory.mkdir(parents=True)
    result = newsmirror("--archive", tmp_path / "m", *command)
    assert result.code == 2
    assert result.err == f"newsmirror: {directory} is a directory; move it away to let newsmirror write its configuration there\n"
    assert directory.is_dir() and not any(directory.iterdir())


def test_an_archive_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "m").write_text("not a folder")
    result = newsmirror("--archive", tmp_path / "m", "run")
    assert result.code == 2 and "is not a folder" in result.err


def test_a_feed_id_with_a_final_newline_never_becomes_a_folder(tmp_path, site):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text('[[feeds]]\nid = "abc\\n"\nurl = "' + site.add("/f.xml", rss(item(1))) + '"\n')
    result = newsmirror("--archive", archive, "run")
    assert result.code == 2 and ":2: feeds[0].id: 'abc\\n' must be 1-64 letters" in result.err
    assert not (archive / "articles").exists()
    assert newsmirror("--archive", tmp_path / "n", "add", site.url("/f.xml"), "--id", "abc\n", "--title", "T").code == 2
    assert not (tmp_path / "n" / "newsmirror.toml").exists()


@pytest.mark.parametrize(("feed_id", "words"), [("VOA", "differs from the id 'voa' only in case"),
                                                ("voa", "already exists"), ("con", "device name on Windows"),
                                                ("COM1", "device name on Windows"), ("a b", "1-64 letters")])
def test_add_refuses_ids_a_windows_or_macos_checkout_cannot_hold(tmp_path, site, feed_id, words):
    archive = tmp_path / "m"
    assert newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "voa", "--title", "A").code == 0
    before = (archive / "newsmirror.toml").read_text(encoding="utf-8")
    result = newsmirror("--archive", archive, "add", site.add("/b.xml", rss(item(2))), "--id", feed_id, "--title", "B")
    assert result.code == 2 and result.err.startswith("newsmirror: --id: ") and words in result.err
    assert (archive / "newsmirror.toml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("url", ["https://example.com/a\nb", "https://example.com/a b", "https://example.com/\x7f",
                                 "https://example.com/feed\t", "ftp://example.com/feed"])
def test_add_refuses_a_url_holding_white_space_or_a_control_character(tmp_path, url):
    result = newsmirror("--archive", tmp_path / "m", "add", url, "--id", "x", "--title", "X")
    assert result.code == 2 and result.err.startswith("newsmirror: URL: ")
    assert not (tmp_path / "m" / "newsmirror.toml").exists()


def test_feeds_that_choose_colliding_titles_each_keep_their_own_list(tmp_path, site):
    titles = {"f1": "a/b", "f2": "A_B", "f4": "CON", "f5": ".", "f6": ".."}  # from the feeds themselves
    archive = tmp_path / "m"
    for feed_id in ("f1", "f2", "f3", "f4", "f5", "f6"):
        url = site.add(f"/{feed_id}.xml", rss(item(f"{feed_id}-1"), title=titles.get(feed_id, "ignored")))
        assert newsmirror("--archive", archive, "add", url, "--id", feed_id, "--title", "a_b" if feed_id == "f3" else "x").code == 0
    text = (archive / "newsmirror.toml").read_text(encoding="utf-8")
    (archive / "newsmirror.toml").write_text(text.replace('title = "x"\n', ""), encoding="utf-8")
    for _ in range(2):
        assert newsmirror("--archive", archive, "run").code == 0
    readme = (archive / "README.md").read_text(encoding="utf-8")
    links = dict(line[1:-4].split("](lists/") for line in readme.splitlines() if "](lists/" in line)
    assert links == {"a/b": "a_b-f1", "A_B": "A_B-f2", "a_b": "a_b", "CON": "_CON", ".": "feed", "..": "feed-f6"}
    for title, name in links.items():
        lines = (archive / "lists" / f"{name}.md").read_text(encoding="utf-8").splitlines()
        assert lines[0] == title
    listed = {line.split("](/articles/")[1].split("/")[0] for name in links.values()
              for line in (archive / "lists" / f"{name}.md").read_text(encoding="utf-8").splitlines() if "](/articles/" in line}
    assert listed == {"f1", "f2", "f3", "f4", "f5", "f6"}


def test_import_opml_takes_linear_time_for_thousands_of_feeds_of_one_host(tmp_path):
    outlines = "".join(f'<outline text="源{i}" xmlUrl="https://feeds.example.com/{i}.xml"/>' for i in range(4000))
    source = tmp_path / "big.opml"
    source.write_text(f"<opml><body>{outlines}</body></opml>", encoding="utf-8")
    started = time.monotonic()
    result = newsmirror("--archive", tmp_path / "m", "import-opml", source)
    assert time.monotonic() - started < 20  # 60 s when each outline counted its id up from 2 again
    assert result.code == 0 and "Added 4000 feeds" in result.out
    feeds = config.load(tmp_path / "m" / "newsmirror.toml").feeds
    assert [f.id for f in feeds[:3]] == ["feeds-example-com", "feeds-example-com-2", "feeds-example-com-3"]
    assert feeds[-1].id == "feeds-example-com-4000" and feeds[-1].title == "源3999"
