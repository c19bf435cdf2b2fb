"""`newsmirror worker` and `writer`: feeds spread over worker processes through procrastinate's
queue in a real PostgreSQL (tests/postgres.py), one writer of the folder."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from support import item, newsmirror, rss

from newsmirror import tombstones
from newsmirror.queueing import FEED_TASK, HEARTBEAT, STALLED
from newsmirror.store import open_store
from newsmirror.tombstones import Tombstone, Tombstones

FEEDS = 300


def config(tmp_path: Path, site, pg_url: str, feeds: int, delay: float = 0.0) -> str:
    """A configuration of `feeds` local feeds of two items each, its state in PostgreSQL."""
    blocks = []
    for n in range(feeds):
        url = site.add(f"/f/{n}.xml", rss(item(f"{n}-1", guid=f"f{n}-1"), item(f"{n}-2", guid=f"f{n}-2"), title=f"源{n}"),
                       delay=delay)
        blocks.append(f'[[feeds]]\nid = "f{n:03}"\ntitle = "源{n}"\nurl = "{url}"\n')
    return "\n".join(blocks) + f'\n[store]\nurl = "{pg_url}"\n'


def folder(tmp_path: Path, name: str, toml: str) -> Path:
    """A folder holding only newsmirror.toml."""
    path = tmp_path / name
    path.mkdir()
    (path / "newsmirror.toml").write_text(toml, encoding="utf-8")
    return path


def start(tmp_path: Path, name: str, *args: str | Path) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "newsmirror", *map(str, args)], stdout=log, stderr=subprocess.STDOUT)


def until(condition, seconds: float, what: str):
    """Poll `condition` until it returns something true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_three_workers_and_a_writer_archive_every_entry_once_though_one_worker_is_killed_mid_pass(tmp_path, site, pg_url):
    toml = config(tmp_path, site, pg_url, FEEDS, delay=0.5)
    fetching, mirror = folder(tmp_path, "fetching", toml), folder(tmp_path, "mirror", toml)
    migrated = newsmirror("--archive", fetching, "migrate")
    assert migrated.code == 0 and migrated.out.endswith("job queue: created\n")
    db = psycopg.connect(pg_url, autocommit=True)

    def one(sql: str, *params: object):
        return db.execute(sql, params).fetchone()[0]

    first = start(tmp_path, "worker0", "--archive", fetching, "worker", "--concurrency", "10")
    until(lambda: one("SELECT count(*) FROM procrastinate_workers"), 60, "the first worker registered")
    doomed = one("SELECT min(id) FROM procrastinate_workers")  # the first worker's id
    others = [start(tmp_path, f"worker{n}", "--archive", fetching, "worker", "--concurrency", "10") for n in (1, 2)]
    writer = start(tmp_path, "writer", "--archive", mirror, "writer")
    try:
        # Mid-pass: jobs are done, many wait, and the first worker is at work on some.
        until(lambda: one("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded' AND task_name = %s", FEED_TASK) >= 30
              and one("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s", doomed), 90,
              "the first worker busy mid-pass")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        orphans = {r[0] for r in db.execute("SELECT args->>'feed_id' FROM procrastinate_jobs WHERE status = 'doing'"
                                            " AND worker_id = %s", (doomed,))}
        assert orphans  # the kill left feeds half done
        until(lambda: one("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s", doomed) == 0,
              60, "the killed worker's feeds taken by the others")
        assert time.monotonic() - killed_at < 60
        until(lambda: one("SELECT count(DISTINCT args->>'feed_id') FROM procrastinate_jobs WHERE status = 'succeeded'"
                          " AND task_name = %s", FEED_TASK) == FEEDS, 90, "every feed fetched")
        state = open_store(mirror / ".newsmirror", pg_url)
        until(lambda: not state.pending() and len(list(mirror.glob("articles/*/*.md"))) == 2 * FEEDS, 60,
              "every entry written")
    finally:
        for process in [*others, writer]:
            process.send_signal(signal.SIGTERM)
        for process in [*others, writer]:
            process.wait(30)
    # The killed worker's feeds: queued again (its heartbeat stopped) and done by the others.
    retried = {r[0] for r in db.execute("SELECT DISTINCT j.args->>'feed_id' FROM procrastinate_jobs j JOIN procrastinate_events e"
                                        " ON e.job_id = j.id WHERE e.type = 'deferred_for_retry'")}
    assert orphans <= retried
    assert one("SELECT count(*) FROM procrastinate_jobs WHERE args->>'feed_id' = ANY(%s) AND status = 'succeeded'"
               " AND worker_id = %s", list(orphans), doomed) == 0
    assert "its worker stopped answering; queued again" in "".join((tmp_path / f"worker{n}.log").read_text() for n in (1, 2))
    # Every entry archived once; the files and the database agree.
    rows = list(state.all_entries())
    assert len(rows) == 2 * FEEDS and len({(r.feed_id, r.guid) for r in rows}) == 2 * FEEDS
    on_disk = {p.relative_to(mirror).as_posix() for p in mirror.glob("articles/*/*.md")}
    assert on_disk == {f"articles/{r.feed_id}/{r.number}.md" for r in rows}
    assert all(r.title in (mirror / f"articles/{r.feed_id}/{r.number}.md").read_text(encoding="utf-8") for r in rows)
    assert not (fetching / "articles").exists()  # workers write no file
    assert (mirror / "README.md").read_text(encoding="utf-8").count("](lists/") == FEEDS
    lists = [p.read_text(encoding="utf-8") for p in mirror.glob("lists/*.md")]
    assert len(lists) == FEEDS and all(page.count("articles/") == 2 for page in lists)  # every list shows its feed's two
    state.close()
    db.close()


def test_worker_and_writer_need_the_postgresql_state(tmp_path, site):
    plain = folder(tmp_path, "plain", config(tmp_path, site, "x", 1).replace('[store]\nurl = "x"\n', ""))
    for command in ("worker", "writer"):
        refused = newsmirror("--archive", plain, command)
        assert refused.code == 2 and f"{command} shares its state through PostgreSQL: set [store] url" in refused.err


def test_the_writer_writes_what_a_worker_stored_and_doctor_reports_the_queue(tmp_path, site, pg_url):
    toml = config(tmp_path, site, pg_url, 2)
    fetching, mirror = folder(tmp_path, "fetching", toml), folder(tmp_path, "mirror", toml)
    assert newsmirror("--archive", fetching, "migrate").code == 0
    report = newsmirror("--archive", mirror, "doctor")
    assert re.search(r"job queue +ok +0 feeds waiting, 0 being fetched", report.out)
    assert re.search(rf"workers +warn +0 seen in the last {STALLED:g} s: start `newsmirror worker`", report.out)
    worker = start(tmp_path, "worker", "--archive", fetching, "worker")
    try:
        state = open_store(mirror / ".newsmirror", pg_url)
        until(lambda: state.count() == 4, 30 + HEARTBEAT, "both feeds stored")
        assert len(state.pending()) == 4  # stored: the writer's to write
        # A redaction made at the writer's folder: a worker, which has no folder, stored it again.
        redacted = state.pending()[0]
        tombstones.write(mirror, Tombstones([Tombstone(redacted.feed_id, 1, redacted.guid, redacted.link, redacted.canonical,
                                                       (), 0, "2026-01-01T00:00:00Z", "DMCA")]))
        doctor = newsmirror("--archive", mirror, "doctor")
        assert re.search(r"workers +ok +1 seen in the last", doctor.out)
        written = newsmirror("--archive", mirror, "writer", "--once")
        assert written.code == 0 and written.out.startswith("wrote 3 articles in ")
        assert state.pending() == [] and len(list(mirror.glob("articles/*/*.md"))) == 3
        assert state.entry(redacted.feed_id, redacted.number) is None
        assert sorted(p.name for p in mirror.glob("lists/*.md")) == ["源0.md", "源1.md"]  # and the feeds out
        assert (mirror / "feeds/all.xml").read_text(encoding="utf-8").count("<item>") == 3
        state.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    assert (tmp_path / "worker.log").read_text().endswith("stopped\n")
    assert sorted(p.name for p in fetching.iterdir()) == [".newsmirror", "newsmirror.toml"]
