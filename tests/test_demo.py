"""`newsmirror demo` works offline and leaves a browsable mirror."""

from __future__ import annotations

from support import newsmirror


def test_demo_mirrors_the_bundled_feeds(tmp_path):
    target = tmp_path / "demo"
    result = newsmirror("demo", target)
    assert result.code == 0, result.err
    assert "3 feeds: 4 new articles, 0 revised, 0 completed, 0 removed, 0 failed" in result.out
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
