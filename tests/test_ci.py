"""`newsmirror init --ci github`: a workflow that is valid YAML and whose steps work."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import yaml
from support import item, newsmirror, rss

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def git(where, *args):
    return subprocess.run(["git", "-C", str(where), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **ENV}).stdout


def test_the_workflow_runs_hourly_and_its_steps_mirror_and_publish(tmp_path, site):
    # The repository readers clone, and a checkout of it like the runner's.
    remote = tmp_path / "news.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(remote), str(checkout)], check=True, capture_output=True)
    assert newsmirror("init", "--archive", checkout, "--ci", "github", "--install", "newsmirror==0.1.0").code == 0
    config = checkout / "newsmirror.toml"
    config.write_text(f'[[feeds]]\nid = "voa"\ntitle = "美国之音"\nurl = "{site.add("/f.xml", rss(item(1)))}"\n')

    workflow = yaml.safe_load((checkout / ".github/workflows/newsmirror.yml").read_text())
    assert workflow["on"]["schedule"] == [{"cron": "7 * * * *"}]
    steps = workflow["jobs"]["mirror"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    commands = [s["run"] for s in steps if "run" in s]
    assert commands[0] == 'python -m pip install "newsmirror==0.1.0"'

    for _ in range(2):  # two scheduled runs, each starting with no state
        for command in commands[1:]:
            argv = shlex.split(command)
            assert argv[0] == "newsmirror"
            proc = subprocess.run([sys.executable, "-m", "newsmirror", *argv[1:]], cwd=checkout, capture_output=True,
                                  text=True, env={**os.environ, **ENV})
            assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        subprocess.run(["rm", "-rf", str(checkout / ".newsmirror")], check=True)
        site.add("/f.xml", rss(item(2), item(1)))
    log = git(remote, "log", "--format=%s", "main").splitlines()
    assert log == ["newsmirror: publish", "newsmirror: publish"]
    files = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert "articles/voa/1048574.md" in files and "articles/voa/1048573.md" in files
    assert ".github/workflows/newsmirror.yml" in files and not [f for f in files if f.startswith(".newsmirror")]
