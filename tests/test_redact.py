"""`newsmirror redact`: a takedown complied with, against local bare repositories standing in for
the hosts (one of which refuses forced pushes, as a protected branch does)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import item, newsmirror, rss

from newsmirror import publish as publishing
from newsmirror.identity import normalized_text
from newsmirror.model import Article
from newsmirror.output import with_redacted
from newsmirror.redact import rewrite_history
from newsmirror.tombstones import Tombstone, Tombstones, text_hash

ENV = {"GIT_AUTHOR_NAME": "someone", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "someone",
       "GIT_COMMITTER_EMAIL": "s@x", "PATH": "/usr/bin:/bin"}
OLD, NEW = "Mon, 06 May 2024 10:00:00 GMT", "Tue, 07 May 2024 21:39:03 GMT"
TAKEN_DOWN = "第1篇文章的第3段"  # a sentence of the article the notice names
BODY = "".join(f"<p>第1篇文章的第{i}段。这是一个完整的句子。</p>" for i in range(20))  # a full body (identity.FULL_BODY)


def git(where: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(where), *args], check=True, capture_output=True, text=True, env=ENV).stdout


def bare(tmp_path: Path, name: str, refuse_force: bool = False) -> Path:
    path = tmp_path / f"{name}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    if refuse_force:
        git(path, "config", "receive.denyNonFastForwards", "true")
    return path


def everything(repository: Path) -> str:
    """All a repository's history shows: every commit of every ref, with its changes."""
    return git(repository, "log", "--all", "-p")


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(publishing, "RETRY_BASE", 0.01)


@pytest.fixture
def redacted(tmp_path, site):
    """A mirror of two articles published to two remotes, the older article then redacted; the
    state as it was before the redaction is kept aside (a CI cache)."""
    accepting, refusing = bare(tmp_path, "accepting"), bare(tmp_path, "refusing", refuse_force=True)
    archive = tmp_path / "m"
    feed = site.add("/f.xml", rss(item(2, date=NEW), item(1, date=OLD, body=BODY)))
    newsmirror("--archive", archive, "add", feed, "--id", "voa", "--title", "美国之音")
    config = archive / "newsmirror.toml"
    config.write_text("site = true\n" + config.read_text() + f'\n[publish]\nremotes = ["{accepting}", "{refusing}"]\nretries = 0\n')
    assert newsmirror("--archive", archive, "run").code == 0
    assert "site/articles/voa/1048574.html" in git(refusing, "ls-tree", "-r", "--name-only", "main")
    assert TAKEN_DOWN in everything(refusing)
    shutil.copytree(archive / ".newsmirror", tmp_path / "cached-state")

    result = newsmirror("--archive", archive, "redact", site.url("/a/1.html"), "--reason", "DMCA notice 2025-02-03", "--yes")
    return archive, accepting, refusing, result


def test_redact_removes_the_article_everywhere_and_rewrites_history_and_the_remotes_that_accept(redacted, tmp_path):
    archive, accepting, refusing, result = redacted

    assert result.code == 1  # one remote refused: reported, the other still rewritten
    assert "redacted voa/1048574: 1 files removed, recorded in redactions.json" in result.out
    assert f"push {accepting}: rewritten" in result.out
    assert f"push {refusing}: refused the rewritten history" in result.out
    assert not (archive / "articles/voa/1048574.md").exists()
    assert (archive / "articles/voa/1048573.md").exists()
    assert (archive / "lists/美国之音.md").read_text() == (
        "美国之音\n------\n\n5-8 [文章2](/articles/voa/1048573.md)\n\n5-6 （应要求删除）\n\n")
    assert not any(TAKEN_DOWN in p.read_text() for p in (archive / "feeds").iterdir())
    assert "第2篇文章" in (archive / "feeds/voa.xml").read_text()  # the rest stays
    [stone] = json.loads((archive / "redactions.json").read_text())
    assert stone["feed"] == "voa" and stone["number"] == 1048574 and stone["guid"].endswith("/guid-1")
    assert stone["reason"] == "DMCA notice 2025-02-03" and stone["blobs"]
    assert TAKEN_DOWN not in (archive / "redactions.json").read_text()

    assert TAKEN_DOWN not in everything(archive)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(accepting), str(clone)], check=True)
    assert TAKEN_DOWN not in everything(clone)
    assert "第2篇文章" in everything(clone)
    assert TAKEN_DOWN in everything(refusing)  # as reported

    search = newsmirror("--archive", archive, "search", "第1篇文章")
    assert "0 results" in search.out
    assert newsmirror("--archive", archive, "history", "voa/1048574").code == 2


def test_publish_skips_a_remote_that_still_holds_the_redacted_history(redacted, tmp_path):
    archive, accepting, refusing, _ = redacted

    result = newsmirror("--archive", archive, "publish")

    assert f"push {refusing}: holds history with a redacted article" in result.out
    assert f"push {accepting}: ok" in result.out
    assert TAKEN_DOWN not in everything(archive)
    assert TAKEN_DOWN not in git(archive, "log", "-p", "HEAD")


def test_the_feed_bringing_it_again_archives_nothing_of_it(redacted, site):
    archive = redacted[0]
    moved = item(1, date=OLD, body=BODY).replace("__BASE__/a/1.html", "__BASE__/moved/1.html")
    site.add("/f.xml", rss(item(3, date=NEW), item(2, date=NEW), item(1, date=OLD, body=BODY), moved,
                           item("1b", date=OLD, body=BODY, title="转载")))

    result = newsmirror("--archive", archive, "run")

    assert "voa: 1 new" in result.out
    assert sorted(p.name for p in (archive / "articles/voa").glob("*.md")) == ["1048572.md", "1048573.md"]
    assert "第3篇文章" in (archive / "articles/voa/1048572.md").read_text()  # a new number, never the redacted one

    assert newsmirror("--archive", archive, "reindex").code == 0
    again = newsmirror("--archive", archive, "run")
    assert "voa: unchanged" in again.out or "voa: nothing new" in again.out
    assert sorted(p.name for p in (archive / "articles/voa").glob("*.md")) == ["1048572.md", "1048573.md"]


def test_a_state_restored_from_before_the_redaction_is_purged_on_the_next_run(redacted, tmp_path):
    archive = redacted[0]
    shutil.rmtree(archive / ".newsmirror")
    shutil.copytree(tmp_path / "cached-state", archive / ".newsmirror")

    result = newsmirror("--archive", archive, "run")

    assert "state held 1 redacted articles" in result.out
    assert newsmirror("--archive", archive, "history", "voa/1048574").code == 2
    assert "0 results" in newsmirror("--archive", archive, "search", "第1篇文章").out
    assert not (archive / "articles/voa/1048574.md").exists()
    assert "（应要求删除）" in (archive / "lists/美国之音.md").read_text()


def test_redact_asks_first_on_the_terminal(redacted, site):
    archive = redacted[0]
    result = newsmirror("--archive", archive, "redact", "voa/1048573", "--reason", "notice")  # no --yes, no answer
    assert result.code == 1 and "nothing changed" in result.err
    assert (archive / "articles/voa/1048573.md").exists()


def stone(number: int, guid: str | None = None, link: str | None = None, body: str | None = None) -> Tombstone:
    return Tombstone("voa", number, guid, link or "", link, tuple(h for h in (text_hash(body),) if h), 0, "", "notice")


def test_an_entry_is_a_redacted_article_by_guid_link_or_full_body_only():
    full = "<p>" + "一句完整的话。" * 60 + "</p>"
    stones = Tombstones([stone(5, guid="g", link="https://x.test/a", body=full)])

    assert stones.match("g", None, None)  # the same guid
    assert stones.match(None, "https://x.test/a", None)  # the same link
    assert stones.match("other", "https://x.test/b", text_hash("<div>" + full + "</div>"))  # same text, new guid
    assert stones.match("other", "https://x.test/b", text_hash("<p>阅读全文</p>")) is None
    assert text_hash("<p>阅读全文</p>") is None  # a teaser is shared by unrelated items: never a match
    assert text_hash(full) == text_hash(" " + full) and normalized_text(full)


def test_list_lines_place_redacted_articles_by_number():
    rows = [Article("voa", n, f"t{n}", "", 0, "") for n in (3, 6)]
    merged = with_redacted(rows, [stone(2), stone(5), stone(9)])
    assert [(a.number, a.redacted) for a in merged] == [(2, True), (3, False), (5, True), (6, False), (9, True)]


def test_the_site_lists_it_as_removed_on_request_and_holds_nothing_of_it(redacted):
    archive = redacted[0]  # the site was built by every pass, and published

    page = (archive / "site/feeds/voa/index.html").read_text()
    assert '<span class="removed">（应要求删除）</span>' in page and "文章2" in page
    assert not (archive / "site/articles/voa/1048574.html").exists()
    assert not any(TAKEN_DOWN in p.read_text() for p in (archive / "site").rglob("*") if p.is_file() and p.suffix != ".svg")


def test_rewrite_history_drops_every_name_the_content_had_and_keeps_the_remotes(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://example.invalid/news.git")
    (repo / "a").mkdir()
    (repo / "a/5_标题.md").write_text(TAKEN_DOWN)
    (repo / "keep.md").write_text("kept\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "adopted")
    git(repo, "mv", "a/5_标题.md", "a/5.md")
    git(repo, "commit", "-qm", "renamed")
    (repo / "copy.md").write_text(TAKEN_DOWN)  # the same content under another name: gone by its blob id
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "copied")
    blob = git(repo, "rev-parse", "HEAD:copy.md").strip()

    rewrite_history([repo], ["a/5_标题.md", "a/5.md"], [blob])

    assert TAKEN_DOWN not in everything(repo)
    assert git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() == ["keep.md"]
    assert git(repo, "remote", "get-url", "origin").strip() == "https://example.invalid/news.git"
