"""`newsmirror run` SIGKILLed at random moments (as the OOM killer or `timeout -s KILL` would).

After each kill: no process the killed one started outlives it by more than ~2 s, and the next
`run` starts at once (the lock is not left held) and completes. At the end, files, state and
lists agree: every article file is house format, the numbers on disk are the numbers in the
state, no item of any feed is archived twice or missing, each list names exactly its feed's
articles, newest first, the search index holds every article once, and no temporary file is left.
"""

from __future__ import annotations

import email.utils
import fcntl
import os
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from hostile_support import alive, environment, query, start, state_numbers, tree, wait_gone, watch
from lxml import etree
from support import Site, item, rss

from newsmirror.archive import Archive
from newsmirror.render.markdown import read_article

T0 = 1_700_000_000
ITEMS = 30  # per feed, revealed a few more each round


def date(i: int) -> str:
    return email.utils.formatdate(T0 + i * 600, usegmt=True)


class Feeds:
    """Feeds on a local server that grow each round: full-content ones (some slow to answer) and
    summary-only ones whose articles are built from their pages."""

    def __init__(self, site: Site, count: int, summaries: int):
        self.site = site
        self.ids = [f"f{i:02d}" for i in range(count)]
        self.summary_only = set(self.ids[count - summaries:])
        page = ("<html><head><title>页</title></head><body><article>{mark}"
                + "".join(f"<p>文章页的第{i}段。这是一个完整的句子，第二句话也在这里。</p>" for i in range(6))
                + "</article></body></html>")
        for feed_id in self.ids:
            if feed_id in self.summary_only:
                for i in range(ITEMS):
                    site.add(f"/p/{feed_id}/{i}.html", page.format(mark=f"<p>页{feed_id}-{i}。</p>"),
                             content_type="text/html; charset=utf-8", delay=0.02)

    def delay(self, feed_id: str) -> float:
        return (0.0, 0.3, 0.8)[int(feed_id[1:]) % 3]

    def reveal(self, count: int) -> None:
        """Each feed now carries its first `count` items (newest first, as feeds list them)."""
        for feed_id in self.ids:
            items = [self.item(feed_id, i) for i in range(min(count, ITEMS))]
            self.site.add(f"/{feed_id}.xml", rss(*reversed(items), title=f"源{feed_id}"), delay=self.delay(feed_id))

    def item(self, feed_id: str, i: int) -> str:
        link = f"__BASE__/p/{feed_id}/{i}.html"
        if feed_id in self.summary_only:
            return item(f"{feed_id}-{i}", date(i), body=f"摘要{feed_id}-{i}", link=link, guid=f"{feed_id}/{i}")
        body = "".join(f"<p>{feed_id}第{i}篇第{k}段。这是一个完整的句子。</p>" for k in range(10))
        return item(f"{feed_id}-{i}", date(i), body=body, link=link, guid=f"{feed_id}/{i}")

    def config(self) -> str:
        head = "[fetch]\ntimeout = 10\nper_host = 8\n[limits]\nwork_seconds = 30\n"
        return head + "".join(f'[[feeds]]\nid = "{f}"\nurl = "{self.site.url(f"/{f}.xml")}"\n' for f in self.ids)


def kill_at(root: Path, env: dict[str, str], delay: float) -> tuple[list[int], float, bool]:
    """Start `run` and SIGKILL it after `delay` s; returns the pids of every process it started
    (seen every ~10 ms while it ran), how long it ran, and whether it was killed (False: it
    ended first, with exit status 0)."""
    proc = start(root, "run", env=env)
    seen: set[int] = set()
    started = time.monotonic()
    while time.monotonic() - started < delay and proc.poll() is None:
        seen.update(p.pid for p in tree(proc.pid)[1:])
        time.sleep(0.01)
    seen.update(p.pid for p in tree(proc.pid)[1:])
    if proc.poll() is not None:
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        return sorted(seen), time.monotonic() - started, False
    proc.kill()  # SIGKILL, to the main process alone
    proc.communicate()
    return sorted(seen), time.monotonic() - started, True


def kill_repeatedly(tmp_path: Path, site: Site, feeds: int, summaries: int, kills: int, seed: int,
                    spread: tuple[float, float]) -> None:
    """`kills` passes killed at moments drawn from `spread` (seconds after the start; a pass that
    ends before its moment comes again, with the range shortened), each round with new items."""
    root = tmp_path / "m"
    root.mkdir()
    env = environment(tmp_path / "env")
    sources = Feeds(site, feeds, summaries)
    (root / "newsmirror.toml").write_text(sources.config(), encoding="utf-8")
    rng = random.Random(seed)
    low, high = spread
    killed: list[float] = []
    after_runs: list[float] = []
    early = 0
    while len(killed) < kills:
        assert early < kills, "the passes end before the moments drawn to kill them"
        sources.reveal(4 + (len(killed) + 1) * (ITEMS - 4) // kills)  # new items in every round
        children, seconds, was_killed = kill_at(root, env, rng.uniform(low, high))
        if was_killed:
            killed.append(seconds)
            assert not wait_gone(children, 2.0), f"kill {len(killed)}: a process of the killed pass survived it"
        else:
            early += 1
            high = max(low + 0.1, 0.8 * high)  # the pass was quicker than that: kill sooner
        after = watch(root, "run", env=env, timeout=60)
        after_runs.append(after.seconds)
        assert after.code == 0, f"kill {len(killed)} after {seconds:.2f} s: {after.err}"
        assert "in use" not in after.err and "Traceback" not in after.err, after.err
        assert not alive(after.pids)
    print(f"\n{kills} kills after {', '.join(f'{s:.2f}' for s in killed)} s ({early} passes ended "
          f"before their kill); the runs after them took {', '.join(f'{s:.2f}' for s in after_runs)} s")
    sources.reveal(ITEMS)
    final = watch(root, "run", env=env, timeout=60)
    assert final.code == 0, final.err
    agree(root, sources)


def agree(root: Path, sources: Feeds) -> None:
    """Files, state and lists agree, and every item of every feed is archived once."""
    archive = Archive(root)
    in_state = state_numbers(root)
    for feed_id in sources.ids:
        on_disk = archive.numbers_on_disk(feed_id)
        assert set(on_disk) == in_state.get(feed_id, set()), feed_id
        seen: Counter[str] = Counter()
        for path in on_disk.values():
            text = path.read_text(encoding="utf-8")
            assert text.count("\n") == 5 and text.endswith("\n"), path
            parsed = read_article(text)
            assert parsed is not None, path
            _, title, link, body = parsed
            i = int(title.rsplit("-", 1)[1])
            assert title == f"文章{feed_id}-{i}" and link == sources.site.url(f"/p/{feed_id}/{i}.html"), path
            mark = f"页{feed_id}-{i}。" if feed_id in sources.summary_only else f"{feed_id}第{i}篇第9段"
            assert mark in body, path  # complete: summary-only ones built from their page
            seen[link] += 1
        assert sorted(seen.values()) == [1] * ITEMS, (feed_id, seen)  # none twice, none missing
        guids = query(root, "SELECT guid, count(*) FROM entries WHERE feed_id = ? GROUP BY guid", feed_id)
        # (a permalink guid is resolved against the feed's address)
        assert sorted(guids) == sorted((sources.site.url(f"/{feed_id}/{i}"), 1) for i in range(ITEMS))
        listed = (root / "lists" / f"源{feed_id}.md").read_text(encoding="utf-8")
        numbers = [int(n) for n in re.findall(rf"\]\(/articles/{feed_id}/(\d+)\.md\)", listed)]
        assert numbers == sorted(on_disk)[:300], feed_id  # newest (smallest number) first
    assert query(root, "SELECT count(*) FROM unwritten") == [(0,)]
    assert query(root, "SELECT count(*) FROM waiting") == [(0,)]
    search = sqlite3.connect(f"file:{root / '.newsmirror' / 'search.db'}?mode=ro", uri=True)
    try:
        indexed = sorted(search.execute("SELECT feed_id, number FROM docs"))
    finally:
        search.close()
    assert indexed == sorted(query(root, "SELECT feed_id, number FROM entries")), "the search index misses articles"
    assert not [p for p in root.rglob(".nm-tmp-*")], "temporary files left"
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert all(f"源{feed_id}" in readme for feed_id in sources.ids)
    for path in (root / "feeds").glob("*.xml"):
        etree.fromstring(path.read_bytes())  # whole documents, never half-written ones


def test_a_pooled_pass_killed_at_random_moments_loses_and_duplicates_nothing(tmp_path, site):
    """20 feeds (so both workers of a two-core machine run), 6 of them summary-only with pages."""
    kill_repeatedly(tmp_path, site, feeds=20, summaries=6, kills=14, seed=20240507, spread=(0.2, 2.6))


def test_a_small_pass_killed_at_random_moments_loses_and_duplicates_nothing(tmp_path, site):
    """Two feeds, one summary-only: a pass that starts one worker."""
    kill_repeatedly(tmp_path, site, feeds=2, summaries=1, kills=8, seed=7, spread=(0.2, 2.2))


def test_a_worker_killed_mid_pass_fails_its_feed_alone(tmp_path, site):
    """A worker SIGKILLed from outside (the OOM killer picks the biggest process) in the middle of
    a pass: the feed whose job it ran fails with a line saying so, the pass and the other feeds go
    on, and a later pass archives what that feed had, once."""
    root = tmp_path / "m"
    root.mkdir()
    env = environment(tmp_path / "env")
    sources = Feeds(site, 20, 6)
    (root / "newsmirror.toml").write_text(sources.config(), encoding="utf-8")
    rng = random.Random(11)
    killed = 0
    for k in range(5):
        sources.reveal(4 + (k + 1) * (ITEMS - 4) // 5)
        proc = start(root, "run", env=env)
        started, moment, victim = time.monotonic(), rng.uniform(0.9, 2.5), None
        while proc.poll() is None:
            workers = tree(proc.pid)[1:]
            if victim is None and workers and time.monotonic() - started > moment:
                victim = rng.choice(workers)
                victim.kill()
                killed += 1
            time.sleep(0.01)
        out, err = proc.communicate()
        assert proc.returncode == 0 and "Traceback" not in err, err
        lines = {line.split(": ", 1)[0]: line for line in out.splitlines() if line[:1] == "f"}
        assert sorted(lines) == sources.ids, out
        failed = [line for line in lines.values() if ": failed: " in line]
        assert len(failed) <= 1, out  # the feed whose job the worker had, if it had one
        assert all("a worker process ended in the middle of" in line for line in lines.values()
                   if ": failed: " in line or ": deferred: " in line), out
    assert killed >= 4
    final = watch(root, "run", "--force", env=env, timeout=60)  # the feeds that failed back off: asked anyway
    assert final.code == 0 and ": failed: " not in final.out, final.out
    agree(root, sources)


KILLED_BEFORE_INDEXING = textwrap.dedent("""
    import os, signal, sys
    from newsmirror import pipeline
    from newsmirror.cli import main

    def killed(*args, **kwargs):  # the pass wrote its articles; SIGKILL comes before it indexes them
        os.kill(os.getpid(), signal.SIGKILL)

    pipeline.index = killed
    sys.argv = ["newsmirror", "--archive", sys.argv[1], "run"]
    main()
""")


def test_a_pass_killed_before_indexing_leaves_search_complete_after_the_next(tmp_path, site):
    """Articles written by a pass killed before it indexed them: the next pass indexes them even
    when it writes nothing new itself. (They stayed out of search until some later pass wrote
    an article: a pass with nothing new did not look at the index.)"""
    site.add("/f.xml", rss(item(1, date(1))))
    root = tmp_path / "m"
    root.mkdir()
    (root / "newsmirror.toml").write_text(f'[[feeds]]\nid = "f"\nurl = "{site.url("/f.xml")}"\n', encoding="utf-8")
    env = environment(tmp_path / "env")
    assert watch(root, "run", env=env, timeout=30).code == 0  # an archive with its search index
    site.add("/f.xml", rss(item(2, date(2), body="<p>独一无二的词语在这里。这是一个完整的句子。</p>" * 4), item(1, date(1))))
    killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_INDEXING, str(root)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    assert state_numbers(root) == {"f": {1048574, 1048573}} and (root / "articles/f/1048573.md").exists()
    after = watch(root, "run", env=env, timeout=30)
    assert after.code == 0 and after.out.startswith("f: unchanged"), after.out + after.err
    found = watch(root, "search", "独一无二", env=env, timeout=30)
    assert found.code == 0 and "1 result" in found.out, found.out + found.err


def test_a_lost_search_index_is_built_again_by_search(tmp_path, site):
    """search.db deleted (or lost with a cache): `search` builds it again before answering.
    (It answered "0 results": it opened the index, which created the file, and the build it then
    asked for saw the file there and did nothing.)"""
    site.add("/f.xml", rss(item(1, date(1), body="<p>独一无二的词语在这里。这是一个完整的句子。</p>" * 4)))
    root = tmp_path / "m"
    root.mkdir()
    (root / "newsmirror.toml").write_text(f'[[feeds]]\nid = "f"\nurl = "{site.url("/f.xml")}"\n', encoding="utf-8")
    env = environment(tmp_path / "env")
    assert watch(root, "run", env=env, timeout=30).code == 0
    for path in (root / ".newsmirror").glob("search.db*"):
        path.unlink()
    found = watch(root, "search", "独一无二", env=env, timeout=30)
    assert found.code == 0 and "1 result" in found.out, found.out + found.err


KILLED_WHILE_RESTORING = textwrap.dedent("""
    import os, signal, sys
    from newsmirror.store import Store
    from newsmirror.cli import main

    add_entries, calls = Store.add_entries, []

    def add_then_die(self, rows, pending=True, done_waiting=()):
        calls.append(pending)
        if calls.count(False) == 2:  # one feed read back from its files, the next not yet
            os.kill(os.getpid(), signal.SIGKILL)
        return add_entries(self, rows, pending, done_waiting)

    Store.add_entries = add_then_die
    sys.argv = ["newsmirror", "--archive", sys.argv[1], "run"]
    main()
""")


def test_a_pass_killed_while_it_rebuilds_a_lost_state_is_rebuilt_again_not_archived_twice(tmp_path, site):
    """archive.db lost, and the pass that rebuilds it from the files killed half-way (one feed read
    back, the other not): the next pass finishes the rebuild. (It took the half state for whole
    and archived the other feed's items a second time, under new numbers.)"""
    for name in ("a", "b"):
        site.add(f"/{name}.xml", rss(*(item(f"{name}{i}", date(i), guid=f"{name}{i}") for i in range(3)), title=name))
    root = tmp_path / "m"
    root.mkdir()
    (root / "newsmirror.toml").write_text("".join(f'[[feeds]]\nid = "{n}"\nurl = "{site.url(f"/{n}.xml")}"\n'
                                                  for n in ("a", "b")), encoding="utf-8")
    env = environment(tmp_path / "env")
    assert watch(root, "run", env=env, timeout=30).code == 0
    archived = {f: set(Archive(root).numbers_on_disk(f)) for f in ("a", "b")}
    assert archived == {"a": {1048574, 1048573, 1048572}, "b": {1048574, 1048573, 1048572}}
    for path in (root / ".newsmirror").glob("archive.db*"):
        path.unlink()
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_RESTORING, str(root)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    after = watch(root, "run", env=env, timeout=30)
    assert after.code == 0, after.err
    assert {f: set(Archive(root).numbers_on_disk(f)) for f in ("a", "b")} == archived, after.out
    assert state_numbers(root) == archived
    assert watch(root, "run", env=env, timeout=30).out.count("unchanged") == 2


# --- the lock ----------------------------------------------------------------------------------

HOLD = textwrap.dedent("""
    import fcntl, os, sys, time
    fh = open(sys.argv[1], "a+")
    fcntl.flock(fh, fcntl.LOCK_EX)
    fh.seek(0)
    fh.truncate()
    fh.write(f"newsmirror pid {os.getpid()} since 2024-05-07 10:00:00")
    fh.flush()
    if sys.argv[2] == "leftover":
        if os.fork() == 0:  # a leftover child: it inherited the locked file, and outlives the holder
            time.sleep(120)
            os._exit(0)
        os._exit(0)  # the holder dies (as if killed): its child still holds the lock
    print("locked", flush=True)
    time.sleep(120)
""")


def test_a_lock_whose_holder_died_is_taken_over_though_a_leftover_child_holds_it(tmp_path, site):
    site.add("/f.xml", rss(item(1)))
    root = tmp_path / "m"
    root.mkdir()
    (root / "newsmirror.toml").write_text(f'[[feeds]]\nid = "f"\nurl = "{site.url("/f.xml")}"\n', encoding="utf-8")
    (root / ".newsmirror").mkdir()
    lock = root / ".newsmirror" / "lock"
    env = environment(tmp_path / "env")
    holder = subprocess.run([sys.executable, "-c", HOLD, str(lock), "leftover"], env=env, timeout=10)
    assert holder.returncode == 0
    dead = int(re.search(r"pid (\d+)", lock.read_text()).group(1))
    assert not alive([dead])
    leftover = [p for p in _lock_holders(lock)]
    assert leftover, "the simulation holds no lock"
    try:
        with open(lock) as fh:  # the lock is held: the next run cannot just take it
            with pytest.raises(BlockingIOError):
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = watch(root, "run", env=env, timeout=30)
        assert run.code == 0 and "in use" not in run.err, run.err
        assert run.seconds < 10
        assert run.out.startswith("f: 1 new")
        assert watch(root, "run", env=env, timeout=30).code == 0  # and the one after
    finally:
        for pid in leftover:
            os.kill(pid, 9)
        wait_gone(leftover)


def test_a_live_holder_is_named_in_the_message(tmp_path, site):
    site.add("/f.xml", rss(item(1)))
    root = tmp_path / "m"
    root.mkdir()
    (root / "newsmirror.toml").write_text(f'[[feeds]]\nid = "f"\nurl = "{site.url("/f.xml")}"\n', encoding="utf-8")
    (root / ".newsmirror").mkdir()
    env = environment(tmp_path / "env")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root / ".newsmirror" / "lock"), "live"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        run = watch(root, "run", env=env, timeout=30)
        assert run.code == 1
        assert f"is in use by newsmirror pid {holder.pid} since 2024-05-07 10:00:00" in run.err, run.err
        assert not (root / "articles").exists()
    finally:
        holder.kill()
        holder.wait()
    assert watch(root, "run", env=env, timeout=30).code == 0  # once it is gone


def test_a_pass_that_lost_the_take_over_of_a_stale_lock_waits_for_the_winner_not_the_leftover(tmp_path, monkeypatch):
    """Two passes find the same stale lock (its holder dead, a leftover child holding it): one
    takes it over, the other, with --wait, gets the lock once the first is done, and while it
    waits names the holder there is. (It kept trying the old file, which the leftover holds for
    good: it waited its whole --wait, then named the dead pid.)"""
    from newsmirror import archive as archive_module
    from newsmirror.archive import ArchiveLocked

    root = tmp_path / "m"
    (root / ".newsmirror").mkdir(parents=True)
    lock = root / ".newsmirror" / "lock"
    holder = subprocess.run([sys.executable, "-c", HOLD, str(lock), "leftover"], timeout=10)
    assert holder.returncode == 0
    leftover = _lock_holders(lock)
    dead = int(re.search(r"pid (\d+)", lock.read_text()).group(1))
    second_looked, first_holds = threading.Event(), threading.Event()
    alive_really = archive_module._alive

    def alive_in_order(pid: int) -> bool:  # the second pass looks first, then waits for the first to take over
        if threading.current_thread().name == "second" and not second_looked.is_set():
            second_looked.set()
            assert first_holds.wait(10)
        return alive_really(pid)

    monkeypatch.setattr(archive_module, "_alive", alive_in_order)
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with Archive(root).lock(wait=5):
                outcome["held"] = lock.read_text()
        except ArchiveLocked as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=second, name="second")
    try:
        thread.start()
        assert second_looked.wait(10)
        with Archive(root).lock():  # the first pass takes the stale lock over...
            first_holds.set()
            time.sleep(0.5)  # ...and holds it a while
        thread.join(10)
    finally:
        for pid in leftover:
            os.kill(pid, 9)
        wait_gone(leftover)
    assert outcome.get("held", "").startswith(f"newsmirror pid {os.getpid()} since"), outcome
    assert str(dead) not in str(outcome)


def _lock_holders(lock: Path) -> list[int]:
    """Pids of the processes that have `lock` open (from /proc)."""
    target = os.stat(lock)
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                st = os.stat(f"/proc/{pid}/fd/{fd}")
                if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                    found.append(int(pid))
                    break
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return found
