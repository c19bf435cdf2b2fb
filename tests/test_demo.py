"""`newsmirror demo` works offline and leaves a browsable mirror."""

from __future__ import annotations

from starlette.testclient import TestClient
from support import newsmirror

from newsmirror.archive import Archive
from newsmirror.web import create_app


def test_demo_mirrors_the_bundled_feeds(tmp_path):
    target = tmp_path / "demo"
    result = newsmirror("demo", target)
    assert result.code == 0, result.err
    assert "3 feeds: 4 new articles, 0 revised, 0 completed, 0 removed, 0 failed\n" \
           "A day later, the Atom feed has edited one article and taken the other down:\n" in result.out
    later = result.out.split("taken the other down:\n")[1].splitlines()  # feeds end in any order, then the total
    assert "atom: nothing new, 1 revised, 1 removed" in later[:3]
    assert later[3] == "3 feeds: 0 new articles, 1 revised, 0 completed, 1 removed, 0 failed"
    assert f"README:   {target / 'README.md'}" in result.out
    page_built = (target / "articles/voa-site/1048574.md").read_text(encoding="utf-8")
    assert page_built.split("\n")[4].startswith("<div><i>Tue, 07 May 2024 21:14:35 GMT</i></div><img src=\"https://images.weserv.nl?url=gdb.voanews.com/")
    assert "相关内容" not in page_built
    assert newsmirror("demo", target).code == 0  # a demo folder is rebuilt


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = newsmirror("demo", tmp_path)
    assert result.code == 2 and (tmp_path / "precious.txt").exists()


def test_demo_builds_in_the_folder_archive_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert newsmirror("--archive", tmp_path / "given", "demo").code == 0
    assert newsmirror("demo", "--archive", tmp_path / "local").code == 0
    assert (tmp_path / "given/README.md").exists() and (tmp_path / "local/README.md").exists()
    assert not (tmp_path / "newsmirror-demo").exists()


def test_demo_ends_with_next_steps_on_its_edited_and_removed_articles(tmp_path):
    target = tmp_path / "demo"
    out = newsmirror("demo", target).out
    steps = [line.split("  #")[0].strip() for line in out.split("Next:\n")[1].splitlines()[:5]]
    assert steps == [f"newsmirror --archive {target} {command}" for command in
                     ("site", "serve", "history atom/1048573", "diff atom/1048573", "history atom/1048574")]
    assert "This folder is a one-off demonstration" in out
    history = newsmirror("--archive", target, "history", "atom/1048573").out
    assert "  1  " in history and "  2  " in history  # two versions
    assert "{+这一+}句" in newsmirror("--archive", target, "diff", "atom/1048573").out
    assert "removed at the source" in newsmirror("--archive", target, "history", "atom/1048574").out
    assert "[已删除] [【示例】日期没有时区的条目]" in (target / "lists/Atom 示例.md").read_text(encoding="utf-8")


def test_the_demo_folder_can_be_run_and_served_afterwards(tmp_path):
    """The demo's server is gone: its feeds are left disabled, so that `run` fails none of them
    and says why it has nothing to do."""
    target = tmp_path / "demo"
    newsmirror("demo", target)
    result = newsmirror("--archive", target, "run", "--strict")
    assert (result.code, result.out) == (1, "") and "no enabled feed in" in result.err
    assert "disabled since" in (target / "newsmirror.toml").read_text(encoding="utf-8")
    assert newsmirror("--archive", target, "site").code == 0
    client = TestClient(create_app(Archive(target)))
    assert "Atom 示例" in client.get("/").text
    assert "版本 2" in client.get("/articles/atom/1048573.html").text  # the history page
