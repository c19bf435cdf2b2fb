"""`newsmirror` run as a user runs it (a subprocess), watched from outside: wall time, the peak
memory of its whole process tree, every process it started, and what it left on disk.

Shared by test_pass_hostile.py and test_kill.py. Peak memory is sampled every ~50 ms as the sum
over the tree (the process and its workers): RSS counts the pages a forked worker shares with
its parent twice, PSS shares them out; both are recorded; the tests bound PSS, the memory the tree really holds.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

import newsmirror

SRC = str(Path(newsmirror.__file__).resolve().parents[1])  # the src/ these tests test
MiB = 1 << 20


@dataclass
class Watched:
    code: int
    out: str
    err: str
    seconds: float
    peak_rss: int = 0  # bytes: the largest sum of RSS over the tree at one sample
    peak_pss: int = 0  # the same for PSS
    pids: set[int] = field(default_factory=set)  # every descendant seen (workers)

    def figures(self) -> str:
        return (f"{self.seconds:.2f} s, peak tree RSS {self.peak_rss / MiB:.0f} MiB, PSS {self.peak_pss / MiB:.0f} MiB, "
                f"{len(self.pids)} worker{'s' if len(self.pids) != 1 else ''}")

    def line(self, feed_id: str) -> str:
        """The line `run` printed for this feed."""
        found = [x for x in self.out.splitlines() if x.startswith(f"{feed_id}: ")]
        assert len(found) == 1, self.out
        return found[0]


def environment(home: Path) -> dict[str, str]:
    """The test's environment (no internet: conftest's proxies) with this checkout's sources, and
    HOME and TMPDIR in folders of the test's own, so that whatever lands there is seen."""
    (home / "home").mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(PYTHONPATH=SRC, HOME=str(home / "home"), TMPDIR=str(home / "tmp"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("XDG_CACHE_HOME", None)
    return env


def start(archive: Path, *args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsmirror", "--archive", str(archive), *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _sample(procs: Iterable[psutil.Process]) -> tuple[int, int]:
    rss = pss = 0
    for p in procs:
        try:
            m = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        rss += m.rss
        pss += getattr(m, "pss", m.rss)
    return rss, pss


def watch(archive: Path, *args: str, env: dict[str, str], timeout: float = 120, interval: float = 0.05,
          cwd: Path | None = None) -> Watched:
    """Run `newsmirror --archive ARCHIVE ARGS...` to its end, sampling its tree."""
    started = time.monotonic()
    proc = start(archive, *args, env=env, cwd=cwd)
    output: dict[str, str] = {}
    reader = threading.Thread(target=lambda: output.update(zip(("out", "err"), proc.communicate())), daemon=True)
    reader.start()
    peak_rss = peak_pss = 0
    seen: set[int] = set()
    while proc.poll() is None:
        if time.monotonic() - started > timeout:
            for p in reversed(tree(proc.pid)):
                p.kill()
            raise AssertionError(f"newsmirror {' '.join(args)} still running after {timeout} s")
        procs = tree(proc.pid)
        seen.update(p.pid for p in procs[1:])
        rss, pss = _sample(procs)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(interval)
    seconds = time.monotonic() - started
    reader.join(30)
    return Watched(proc.returncode, output.get("out", ""), output.get("err", ""), seconds, peak_rss, peak_pss, seen)


def alive(pids: Iterable[int]) -> list[int]:
    """Those of `pids` still running (a zombie, reaped by nobody yet, is not running)."""
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


def wait_gone(pids: Iterable[int], seconds: float = 2.0) -> list[int]:
    """Wait until none of `pids` runs; those still running after `seconds`."""
    pids = list(pids)
    deadline = time.monotonic() + seconds
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def listing(folder: Path, skip: Path | None = None) -> set[str]:
    """Every path under `folder` (relative), but those under `skip`."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if skip is None or path != skip:
                found.add(str(path.relative_to(folder)))
    return found


def state_numbers(archive: Path) -> dict[str, set[int]]:
    """feed id -> article numbers in the state, read-only."""
    db = sqlite3.connect(f"file:{archive / '.newsmirror' / 'archive.db'}?mode=ro", uri=True)
    try:
        found: dict[str, set[int]] = {}
        for feed_id, number in db.execute("SELECT feed_id, number FROM entries"):
            found.setdefault(feed_id, set()).add(number)
        return found
    finally:
        db.close()


def query(archive: Path, sql: str, *params: object) -> list[tuple]:
    db = sqlite3.connect(f"file:{archive / '.newsmirror' / 'archive.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def kill_tree_now(proc: subprocess.Popen) -> list[int]:
    """SIGKILL the process alone (as the OOM killer or `timeout -s KILL` does); returns the pids
    of its children as they were just before."""
    children = [p.pid for p in tree(proc.pid)[1:]]
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    return children
