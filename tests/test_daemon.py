"""`newsmirror daemon`: passes on a schedule, stopped cleanly by a signal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from support import item, newsmirror, rss

from newsmirror import daemon
from newsmirror.archive import Archive


def test_a_pass_polls_the_due_feeds_and_logs_a_line_each(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a", "--title", "A")
    newsmirror("--archive", archive, "add", site.add("/b.xml", rss(item(2))), "--id", "b", "--title", "B")
    lines: list[str] = []
    assert daemon.run(Archive(archive), threading.Event(), lines.append, as_json=True, passes=1) == 1
    logged = [json.loads(line) for line in lines]
    assert sorted((r["feed"], r["status"], r["new"]) for r in logged) == [("a", "new", 1), ("b", "new", 1)]
    # Both were just polled: nothing is due for another interval, so a stop ends the wait at once.
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    assert daemon.run(Archive(archive), stop, lines.append, as_json=True) == 0
    assert time.monotonic() - started < 5


def test_human_log_lines_carry_the_time_in_the_display_zone_labelled(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a", "--title", "A")
    with (archive / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[display]\ntimezone = "Asia/Kolkata"\n')
    lines: list[str] = []
    daemon.run(Archive(archive), threading.Event(), lines.append, passes=1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\+5:30 a: 1 new \[\d+\.\ds\]", lines[0]), lines
    assert re.fullmatch(r"\S+ \S+ UTC\+5:30 pass: .*", lines[-1]), lines


def test_sigterm_finishes_the_writes_in_flight_and_exits_quickly(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/fast.xml", rss(item(1))), "--id", "fast", "--title", "Fast")
    newsmirror("--archive", archive, "add", site.add("/slow.xml", rss(item(2))), "--id", "slow", "--title", "Slow")
    site.add("/slow.xml", rss(item(2)), delay=20)  # slow for the daemon's pass, not for add's look at it
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "newsmirror", "--archive", str(archive), "daemon"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (archive / "articles/fast/1048574.md").exists():
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else "timeout"
            time.sleep(0.1)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, err = proc.communicate(timeout=15)
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "fast: 1 new" in out and "stopped" in out.splitlines()[-1]
    assert not (archive / "articles/slow").exists()
    assert "Traceback" not in err


def test_each_pass_of_the_daemon_is_published(tmp_path, site):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/a.xml", rss(item(1))), "--id", "a", "--title", "A")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f'\n[publish]\nremotes = ["{remote}"]\n')
    lines: list[str] = []
    daemon.run(Archive(archive), threading.Event(), lines.append, passes=1)
    assert any(f"push {remote}: ok" in line for line in lines)
    log = subprocess.run(["git", "-C", str(remote), "log", "--format=%s", "main"], capture_output=True, text=True).stdout
    assert log.strip() == "newsmirror: 1 new"
