"""What a pass does when this machine fails it: a lost or damaged state, a full disk, a failing
finishing step, a hung feed. Nothing is lost or written twice, and each says so in one line."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from support import item, newsmirror, rss

from newsmirror import config as configuration
from newsmirror import daemon
from newsmirror.archive import Archive
from newsmirror.pipeline import run_pass
from newsmirror.store import Store


def mirror(tmp_path: Path, site, *feeds: tuple[str, str], extra: str = "") -> Archive:
    archive = Archive(tmp_path / "m")
    archive.root.mkdir(parents=True)
    archive.config_path.write_text(extra, encoding="utf-8")
    for feed_id, body in feeds:
        configuration.add_feed(archive.config_path, feed_id, site.add(f"/{feed_id}.xml", body), feed_id.upper())
    archive.prepare()
    return archive


def run(archive: Archive):
    return run_pass(archive, configuration.load(archive.config_path))


def files(archive: Archive) -> list[str]:
    return sorted(str(p.relative_to(archive.root)) for p in archive.root.glob("articles/*/*.md"))


def test_a_lost_state_is_rebuilt_from_the_files_not_answered_by_a_second_copy(tmp_path, site):
    archive = mirror(tmp_path, site, ("f", rss(item(1), item(2), item(3))))
    run(archive)
    before = files(archive)
    for name in ("archive.db", "archive.db-wal", "archive.db-shm", "search.db"):
        (archive.state_dir / name).unlink(missing_ok=True)  # a deleted state, a cold CI cache
    result = newsmirror("--archive", archive.root, "run")
    assert result.code == 0
    assert "state missing: rebuilt from 3 article files" in result.out
    assert "0 new articles" in result.out
    assert files(archive) == before


def corrupt(path: Path) -> None:
    """Overwrite pages in the middle of a database file, as a bad disk or a torn copy would."""
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 2 * page):
        data[start:start + page] = b"\xde\xad" * (page // 2)
    path.write_bytes(bytes(data))


def damaged_mirror(tmp_path: Path, site) -> Archive:
    def body(n: int) -> str:
        return "".join(f"<p>第{n}篇第{i}段，这是一篇很长的文章，足够填满数据库的好几页。</p>" for i in range(200))
    archive = mirror(tmp_path, site, ("f", rss(*(item(i, body=body(i)) for i in range(1, 30)))))
    run(archive)
    db = sqlite3.connect(archive.state_dir / "archive.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    corrupt(archive.state_dir / "archive.db")
    return archive


def test_commands_meeting_a_damaged_state_say_so_in_one_line_with_the_fix(tmp_path, site):
    archive = damaged_mirror(tmp_path, site)
    for command in ("list", "history"):
        args = ["--archive", archive.root, command] + (["f/1048574"] if command == "history" else [])
        result = newsmirror(*args)
        assert result.code in (1, 2), result
        assert "Traceback" not in result.err
        if result.code == 1:
            assert len(result.err.strip().splitlines()) == 1
            assert "damaged" in result.err and f"newsmirror --archive {archive.root} reindex" in result.err
    result = newsmirror("--archive", archive.root, "doctor")
    assert result.code == 1 and "damaged" in result.out and "reindex" in result.out


def test_reindex_recovers_from_any_damage_and_keeps_the_broken_file_aside(tmp_path, site):
    archive = damaged_mirror(tmp_path, site)
    before = files(archive)
    result = newsmirror("--archive", archive.root, "reindex")
    assert result.code == 0, result.err
    assert "damaged: moved to" in result.err and "29 articles indexed" in result.out
    assert list(archive.state_dir.glob("archive.db.damaged-*"))
    assert newsmirror("--archive", archive.root, "doctor").out.count("damaged") == 0
    again = newsmirror("--archive", archive.root, "run")
    assert again.code == 0 and "0 new articles" in again.out and files(archive) == before


def test_a_full_disk_is_one_line_exit_1_and_puts_no_feed_into_back_off(tmp_path, site, monkeypatch):
    archive = mirror(tmp_path, site, ("f", rss(item(1))), ("g", rss(item(2))))

    def full(self, rows, pending=True, done_waiting=()):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "add_entries", full)
    result = newsmirror("--archive", archive.root, "run")
    assert result.code == 1 and "Traceback" not in result.err
    assert "f: failed: local error: database or disk is full" in result.out
    assert "newsmirror: f: database or disk is full" in result.err
    monkeypatch.undo()
    store = Store(archive.state_dir)
    try:
        states = store.feeds()
    finally:
        store.close()
    assert all(s.errors == 0 and s.next_attempt is None for s in states.values())  # nobody backs off
    result = newsmirror("--archive", archive.root, "run")  # the disk was enlarged: every feed at once
    assert result.code == 0 and "2 new articles" in result.out


def test_a_read_only_folder_is_one_line_and_exit_1(tmp_path, site):
    import os

    if os.geteuid() == 0:  # root writes anywhere: make the state folder a file instead
        archive = mirror(tmp_path, site, ("f", rss(item(1))))
        for p in archive.state_dir.iterdir():
            p.unlink()
        archive.state_dir.rmdir()
        archive.state_dir.write_text("not a folder")
    else:
        archive = mirror(tmp_path, site, ("f", rss(item(1))))
        archive.root.chmod(0o500)
    result = newsmirror("--archive", archive.root, "run")
    assert result.code == 1 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and result.err.startswith("newsmirror: ")


def broken(*args):
    raise ValueError("All strings must be XML compatible")


def test_a_failing_finishing_step_is_reported_and_the_others_still_run(tmp_path, site, monkeypatch):
    from newsmirror.render import feeds as republish

    monkeypatch.setattr(republish, "write", broken)  # the workers fork with it
    archive = mirror(tmp_path, site, ("f", rss(item(1))))
    result = newsmirror("--archive", archive.root, "run")
    assert result.code == 1 and "Traceback" not in result.err
    assert "cannot write feeds/f.*: All strings must be XML compatible" in result.err
    assert (archive.root / "README.md").exists() and (archive.root / "lists/F.md").exists()
    assert "search index: 1 articles" in result.out
    assert files(archive) == ["articles/f/1048574.md"]


def hang(*args):
    while True:
        pass


def test_a_feed_whose_work_never_ends_fails_alone_within_its_budget(tmp_path, site, monkeypatch):
    import newsmirror.process as process

    real = process.parse

    def parse(data, url, *args):
        return hang() if "/slow.xml" in url else real(data, url, *args)

    monkeypatch.setattr(process, "parse", parse)  # the workers fork with it
    archive = mirror(tmp_path, site, ("slow", rss(item(1))), ("ok", rss(item(2))), extra="[limits]\nwork_seconds = 1\n")
    started = time.monotonic()
    report = run(archive)
    assert time.monotonic() - started < 10
    results = {r.feed_id: r for r in report.results}
    assert results["slow"].status == "failed" and "took longer than 1 s" in results["slow"].error
    assert results["ok"].new == 1


def test_a_pass_where_every_feed_answers_304_starts_no_worker(tmp_path, site, monkeypatch):
    from newsmirror.workers import Workers

    archive = mirror(tmp_path, site, ("f", rss(item(1))))
    site.routes["/f.xml"].headers["ETag"] = '"v1"'
    run(archive)
    started: list[int] = []
    real = Workers._start
    monkeypatch.setattr(Workers, "_start", lambda self: started.append(1) or real(self))
    assert run(archive).results[0].status == "unchanged"
    assert started == []


def test_the_daemon_outlives_a_failing_pass(tmp_path, site, monkeypatch):
    archive = mirror(tmp_path, site, ("f", rss(item(1))))
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(daemon, "run_pass", failing)
    monkeypatch.setattr(daemon, "MAX_SLEEP", 0.1)
    stop = threading.Event()
    lines: list[str] = []
    threading.Timer(1.0, stop.set).start()
    assert daemon.run(archive, stop, lines.append) == 0
    assert len(calls) >= 2 and any("pass failed: database or disk is full" in line for line in lines)
