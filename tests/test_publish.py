"""Publishing to git mirrors: local bare repositories stand in for the hosts."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import articles, earlier_mirror, item, newsmirror, rss

from newsmirror import publish as publishing

AUTHOR = {"GIT_AUTHOR_NAME": "someone", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "someone",
          "GIT_COMMITTER_EMAIL": "s@x", "PATH": "/usr/bin:/bin"}


def git(where: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(where), *args], check=True, capture_output=True, text=True, env=AUTHOR).stdout


def bare(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(publishing, "RETRY_BASE", 0.01)


def mirror(tmp_path, site, remotes: list[Path | str]) -> Path:
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "voa", "--title", "美国之音")
    listed = ", ".join(f'"{r}"' for r in remotes)
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f"\n[publish]\nremotes = [{listed}]\nretries = 1\n")
    return archive


def test_each_pass_that_changed_files_commits_once_and_pushes_everywhere(tmp_path, site):
    one, two, diverged = bare(tmp_path, "one"), bare(tmp_path, "two"), bare(tmp_path, "diverged")
    unreachable = tmp_path / "nowhere.git"
    archive = mirror(tmp_path, site, [one, two, diverged, unreachable])

    first = newsmirror("--archive", archive, "run")
    assert "committed: newsmirror: 1 new" in first.out
    assert f"push {one}: ok" in first.out and f"push {two}: ok" in first.out
    assert f"push {unreachable}: " in first.out and f"push {unreachable}: ok" not in first.out
    assert git(one, "log", "--format=%s", "main").splitlines() == ["newsmirror: 1 new"]
    assert "voa: 1 new" in git(one, "log", "--format=%b", "main")
    assert ".newsmirror" not in git(one, "ls-tree", "-r", "--name-only", "main")

    # Someone else pushes to one remote meanwhile: our next push is rejected, rebased, retried.
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(diverged), str(other)], check=True)
    (other / "NOTICE.md").write_text("mirror maintained by someone\n")
    git(other, "add", "NOTICE.md")
    git(other, "commit", "-qm", "a note")
    git(other, "push", "-q", "origin", "main")

    site.add("/f.xml", rss(item(2), item(1)))
    second = newsmirror("--archive", archive, "run")
    assert f"push {diverged}: ok" in second.out and f"push {one}: ok" in second.out
    log = git(diverged, "log", "--format=%s", "main").splitlines()
    assert log == ["newsmirror: 1 new", "a note", "newsmirror: 1 new"]  # nothing forced away
    assert "NOTICE.md" in git(diverged, "ls-tree", "-r", "--name-only", "main")

    # Every remote converges on the one history.
    assert git(one, "rev-parse", "main") == git(two, "rev-parse", "main") == git(diverged, "rev-parse", "main")

    third = newsmirror("--archive", archive, "run")  # nothing new
    assert "nothing to commit" in third.out
    assert len(git(one, "log", "--format=%s", "main").splitlines()) == 3


def test_a_push_rejected_because_the_remote_moved_on_is_rebased_and_pushed_again(tmp_path, site, monkeypatch):
    """Someone pushes between our fetch and our push: the remote refuses ours (not a fast
    forward), and newsmirror fetches, rebases its commit onto theirs and pushes again."""
    remote = bare(tmp_path, "remote")
    archive = mirror(tmp_path, site, [remote])
    newsmirror("--archive", archive, "run")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    fetches = []

    def someone_pushes_right_after(root, remote, settings):
        problem = integrate(root, remote, settings)
        if not fetches:
            (other / "NOTICE.md").write_text("mirror maintained by someone\n")
            git(other, "add", "NOTICE.md")
            git(other, "commit", "-qm", "a note")
            git(other, "push", "-q", "origin", "main")
        fetches.append(remote)
        return problem

    integrate = publishing.integrate
    monkeypatch.setattr(publishing, "integrate", someone_pushes_right_after)
    site.add("/f.xml", rss(item(2), item(1)))
    assert f"push {remote}: ok" in newsmirror("--archive", archive, "run").out
    assert fetches == [str(remote)] * 2  # before the push, and after it was refused
    assert git(remote, "log", "--format=%s", "main").splitlines() == ["newsmirror: 1 new", "a note", "newsmirror: 1 new"]
    assert git(archive, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert (archive / "NOTICE.md").read_text() == "mirror maintained by someone\n"


def test_publish_on_demand_with_an_extra_remote(tmp_path, site):
    extra = bare(tmp_path, "extra")
    archive = mirror(tmp_path, site, [])
    newsmirror("--archive", archive, "run")  # no remotes configured: no commit yet
    result = newsmirror("--archive", archive, "publish", "--remote", str(extra), "--author-name", "bot")
    assert result.code == 0 and "committed: newsmirror: publish" in result.out
    assert git(extra, "log", "--format=%an", "main").strip() == "bot"
    failing = newsmirror("--archive", archive, "publish", "--remote", str(tmp_path / "missing.git"))
    assert failing.code == 1


def test_doctor_checks_the_remotes(tmp_path, site):
    archive = mirror(tmp_path, site, [bare(tmp_path, "ok"), tmp_path / "missing.git"])
    newsmirror("--archive", archive, "run")
    result = newsmirror("--archive", archive, "doctor")
    assert result.code == 1
    assert "remote " in result.out and "reachable" in result.out and "FAIL" in result.out


def test_a_repository_on_master_publishes_master(tmp_path, site):
    """The original mirror's repositories are on master: a pass adds to that branch, never starts
    another (on which the remote's archive would begin afresh)."""
    remote = tmp_path / "news.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "master", str(remote)], check=True)
    archive = mirror(tmp_path, site, [remote])
    subprocess.run(["git", "init", "-q", "-b", "master", str(archive)], check=True)
    (archive / "NOTICE.md").write_text("acknowledgements\n")
    git(archive, "add", "NOTICE.md")
    git(archive, "commit", "-qm", "the mirror so far")
    git(archive, "push", "-q", str(remote), "master")

    result = newsmirror("--archive", archive, "run")
    assert f"push {remote}: ok" in result.out, result.out
    assert git(remote, "branch", "--format=%(refname:short)").split() == ["master"]
    assert git(remote, "log", "--format=%s", "master").splitlines() == ["newsmirror: 1 new", "the mirror so far"]
    assert git(archive, "symbolic-ref", "--short", "HEAD").strip() == "master"


def test_a_branch_set_in_the_configuration_is_the_one_published(tmp_path, site):
    remote = bare(tmp_path, "news")
    archive = mirror(tmp_path, site, [remote])
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + 'branch = "gh-pages"\n')
    assert f"push {remote}: ok" in newsmirror("--archive", archive, "run").out
    assert git(remote, "branch", "--format=%(refname:short)").split() == ["gh-pages"]


def clone(remote: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(where)], check=True, capture_output=True)
    return where


def test_publish_refuses_a_folder_whose_articles_the_state_has_not_read(tmp_path, site):
    """A clone of the mirror that no pass or reindex has read: publish says to reindex, and
    leaves git alone (no commit, no push, no repository created)."""
    remote = earlier_mirror(tmp_path, site.add("/f.xml", rss(item(2), item(1))))
    archive = clone(remote, tmp_path / "clone")
    head = git(remote, "rev-parse", "master")
    refused = newsmirror("--archive", archive, "publish", "--remote", "origin")
    assert refused.code == 1 and refused.out == ""
    assert refused.err == (f"newsmirror: {archive} holds articles the state has not read (no state, or a rebuild not "
                           f"finished): run `newsmirror --archive {archive} reindex` first\n")
    assert git(archive, "rev-parse", "HEAD") == head == git(remote, "rev-parse", "master")

    plain = tmp_path / "plain"  # the same files outside git
    shutil.copytree(archive, plain, ignore=shutil.ignore_patterns(".git", ".newsmirror"))
    assert newsmirror("--archive", plain, "publish").code == 1
    assert not (plain / ".git").exists()

    assert newsmirror("--archive", archive, "reindex").code == 0
    result = newsmirror("--archive", archive, "publish", "--remote", "origin")
    assert result.code == 0 and "push origin: ok" in result.out


def test_a_reindex_finishes_what_a_killed_rebuild_left(tmp_path, site):
    """A rebuild killed half-way leaves the state incomplete: publish refuses it until a
    `reindex` has read every file again (and then takes it as whole)."""
    remote = earlier_mirror(tmp_path, site.add("/f.xml", rss(item(2), item(1))))
    archive = clone(remote, tmp_path / "clone")
    assert newsmirror("--archive", archive, "reindex").code == 0
    (archive / ".newsmirror/rebuilding").touch()  # the marker a rebuild keeps while it runs
    assert "reindex` first" in newsmirror("--archive", archive, "publish").err
    assert newsmirror("--archive", archive, "reindex").code == 0
    assert newsmirror("--archive", archive, "publish", "--remote", "origin").code == 0


def test_run_on_a_master_repository_with_a_lost_state_adds_and_replaces_nothing(tmp_path, site):
    """A clone of the original mirror's repository, with no state (a cold CI cache): `run`
    rebuilds the state from the files first, numbers on below them, and pushes master."""
    remote = earlier_mirror(tmp_path, site.add("/f.xml", rss(item(2), item(1))))
    before = articles(remote)
    archive = clone(remote, tmp_path / "clone")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f'\n[publish]\nremotes = ["{remote}"]\n')
    site.add("/f.xml", rss(item(3), item(2)))  # item 1 dropped, item 3 new

    result = newsmirror("--archive", archive, "run")
    assert "state missing: rebuilt from 2 article files" in result.out
    assert f"push {remote}: ok" in result.out
    after = articles(remote)
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"articles/voa/1048572.md"} and "文章3" in after["articles/voa/1048572.md"].decode()
    assert git(remote, "branch", "--format=%(refname:short)").split() == ["master"]


def test_publish_reports_the_packed_size_and_the_largest_folder_and_warns_near_the_limits(tmp_path, site):
    remote = bare(tmp_path, "news")
    archive = mirror(tmp_path, site, [remote])
    first = newsmirror("--archive", archive, "run")  # a pass that publishes reports them too
    assert first.code == 0
    size, folder = [line for line in first.out.splitlines() if line.startswith(("repository:", "largest folder:"))]
    assert size.endswith(" MB packed (0% of the 1024 MB limit set by [publish] warn_size_mb)")
    assert folder == "largest folder: . (6 entries) (0% of the 1000-entry limit set by [publish] warn_folder_entries)"

    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + "warn_size_mb = 1\nwarn_folder_entries = 7\n")
    (archive / "media").mkdir()
    (archive / "media/big.bin").write_bytes(random.Random(1).randbytes(850 * 1024))  # git cannot compress it
    second = newsmirror("--archive", archive, "publish")
    assert second.code == 0 and f"push {remote}: ok" in second.out
    assert re.search(r"^repository: [01]\.\d MB packed \(warning: (8|9)\d% of the 1 MB limit set by \[publish\] warn_size_mb\)$",
                     second.out, re.M), second.out
    assert "largest folder: . (7 entries) (warning: 100% of the 7-entry limit set by [publish] warn_folder_entries)" in second.out
    assert ".newsmirror" not in git(archive, "ls-files")  # the state is not pushed, so not counted
