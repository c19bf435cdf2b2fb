"""`newsmirror init --ci github`: a pinned install, and a workflow whose steps, run as the runner
runs them, add to a repository of the original mirror on master and never replace what it holds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import articles, earlier_mirror, item, newsmirror, rss

from newsmirror.ci import EXAMPLE, install_problem

SPEC = "git+https://github.com/newsmirror/newsmirror@v0.1.0"
ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


@pytest.mark.parametrize("spec", [
    "newsmirror==0.2.0", "newsmirror[bench]==0.2.0", EXAMPLE, "git+https://github.com/you/newsmirror.git@3f2a9c1#egg=newsmirror",
    "git+ssh://git@github.com/you/newsmirror.git@v0.2.0", "https://github.com/you/newsmirror/archive/refs/tags/v0.2.0.tar.gz",
])
def test_a_pinned_spec_is_installed(spec):
    assert install_problem(spec) is None


@pytest.mark.parametrize("spec", [
    "newsmirror", "newsmirror>=0.1", "newsmirror==0.*", "git+https://github.com/you/newsmirror",
    "git+ssh://git@github.com/you/newsmirror.git", ".", "https://github.com/you/newsmirror",
])
def test_an_unpinned_spec_is_refused_with_the_forms_that_pin(spec):
    assert "does not pin a version" in install_problem(spec) and EXAMPLE in install_problem(spec)


@pytest.mark.parametrize("spec", ['newsmirror==1"; rm -rf ~; "', "newsmirror==$(id)", "newsmirror==1 extra"])
def test_a_spec_that_would_break_out_of_its_shell_word_is_refused(spec):
    assert "white space, a quote" in install_problem(spec)


class Runner:
    """One run of the workflow as GitHub runs it: a fresh checkout of the remote, then each step
    in order. `run:` steps run verbatim under bash -e (but the pip install, checked for the spec);
    the cache steps keep `.newsmirror/` in `cache`, by key, as actions/cache does."""

    def __init__(self, tmp_path: Path, remote: Path, cache: dict[str, Path], shims: Path):
        self.tmp_path, self.remote, self.cache, self.shims = tmp_path, remote, cache, shims
        self.steps: dict[str, dict[str, str]] = {}  # step id: its outputs
        self.logs: dict[str, str] = {}  # step name: what it printed

    def run(self) -> None:
        checkout = self.tmp_path / "workspace"
        shutil.rmtree(checkout, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(self.remote), str(checkout)], check=True, capture_output=True)
        self.github = {"sha": self.git(checkout, "rev-parse", "HEAD")}
        workflow = yaml.safe_load((checkout / ".github/workflows/newsmirror.yml").read_text())
        for step in workflow["jobs"]["mirror"]["steps"]:
            if "if" in step and not self.condition(step["if"]):
                continue
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                assert step["with"]["fetch-depth"] == 0  # reindex reads history
            elif uses.startswith("actions/cache/"):
                self.cache_step(uses, step, checkout)
            elif "run" in step:
                self.shell(step, checkout)
            else:
                assert uses.startswith("actions/setup-python@"), step

    def shell(self, step: dict, checkout: Path) -> None:
        if step["name"] == "Install newsmirror":
            assert step["run"] == f'python -m pip install "{SPEC}"'
            return
        outputs = self.tmp_path / "github_output"
        outputs.write_text("")
        env = {**os.environ, **ENV, "PATH": f"{self.shims}{os.pathsep}{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs)}
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=checkout, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, (step["run"], proc.stdout, proc.stderr)
        self.logs[step["name"]] = proc.stdout + proc.stderr
        if "id" in step:
            self.steps[step["id"]] = dict(line.split("=", 1) for line in outputs.read_text().splitlines())

    def cache_step(self, uses: str, step: dict, checkout: Path) -> None:
        assert step["with"]["path"] == ".newsmirror"
        key = self.expand(step["with"]["key"])
        if uses.startswith("actions/cache/restore@"):
            if key in self.cache:
                shutil.copytree(self.cache[key], checkout / ".newsmirror")
            self.steps[step["id"]] = {"cache-hit": "true" if key in self.cache else "false"}
        else:
            assert uses.startswith("actions/cache/save@") and key not in self.cache  # entries are immutable
            self.cache[key] = shutil.copytree(checkout / ".newsmirror", self.tmp_path / "cache" / key)

    def value(self, expression: str) -> str:
        """A context value (`github.sha`, `steps.ID.outputs.NAME`) or a quoted literal."""
        expression = expression.strip()
        if expression.startswith("'"):
            return expression.strip("'")
        match expression.split("."):
            case ["github", name]:
                return self.github[name]
            case ["steps", step, "outputs", name]:
                return self.steps.get(step, {}).get(name, "")
        raise AssertionError(f"expression not emulated: {expression}")

    def expand(self, text: str) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.value(m.group(1)), text)

    def condition(self, expression: str) -> bool:
        """The `a != b || c == d` forms the workflow uses."""
        def compare(part: str) -> bool:
            left, op, right = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", part.strip()).groups()
            return (self.value(left) == self.value(right)) == (op == "==")

        return any(compare(part) for part in expression.split("||"))

    @staticmethod
    def git(where: Path, *args: str) -> str:
        return subprocess.run(["git", "-C", str(where), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_two_scheduled_runs_on_a_master_repository_add_only_what_is_new(tmp_path, site, cache):
    # The original mirror's repository, on master, with what an earlier mirror archived.
    feed = site.add("/f.xml", rss(item(2), item(1)))
    remote = earlier_mirror(tmp_path, feed)
    before = articles(remote)
    assert sorted(before) == ["articles/voa/1048573.md", "articles/voa/1048574.md"]

    # The operator adds the workflow in a clone and pushes it.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True, capture_output=True)
    assert newsmirror("init", "--archive", clone, "--ci", "github", "--install", SPEC).code == 0
    Runner.git(clone, "add", "-A")
    subprocess.run(["git", "-C", str(clone), "commit", "-qm", "hourly workflow"], check=True, env={**os.environ, **ENV})
    Runner.git(clone, "push", "-q", "origin", "master")

    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "newsmirror").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m newsmirror "$@"\n')
    (shims / "newsmirror").chmod(0o755)
    saved: dict[str, Path] = {}
    runner = Runner(tmp_path, remote, saved, shims)

    site.add("/f.xml", rss(item(3), item(2)))  # the feed drops its oldest item as it brings a new one
    runner.run()  # the first run: nothing in the cache
    assert "articles indexed" in runner.logs["Rebuild the state from the files when the cache had none"]
    first = articles(remote)
    assert {k: v for k, v in first.items() if k in before} == before
    (added,) = set(first) - set(before)
    assert "文章3" in first[added].decode()
    assert len(saved) == 1

    if cache == "cold":  # evicted, or never saved: the next run reindexes
        saved.clear()
    site.add("/f.xml", rss(item(4), item(3)))
    runner.run()
    rebuilt = "articles indexed" in runner.logs["Rebuild the state from the files when the cache had none"]
    assert rebuilt == (cache == "cold")
    second = articles(remote)
    assert {k: v for k, v in second.items() if k in first} == first  # nothing archived is replaced
    (added,) = set(second) - set(first)
    assert added == "articles/voa/1048571.md" and "文章4" in second[added].decode()

    assert Runner.git(remote, "branch", "--format=%(refname:short)").split() == ["master"]
    log = Runner.git(remote, "log", "--format=%s", "master").splitlines()
    assert log == ["newsmirror: publish", "newsmirror: publish", "hourly workflow", "the mirror so far"]
    files = Runner.git(remote, "ls-tree", "-r", "--name-only", "master").split()
    assert not [f for f in files if f.startswith(".newsmirror")]

    runner.run()  # nothing new: the state restored for this commit is not saved again
    assert articles(remote) == second and len(saved) == (2 if cache == "warm" else 1)
