"""`newsmirror daemon`: passes on a schedule, until SIGTERM or SIGINT.

Each feed is polled when it is due (schedule.due_at: its interval, never shorter than its own
ttl or max-age, with jitter; back-off after failures). The configuration is read again before
every pass, so edits apply without a restart. A signal sets `stop`: feeds still fetching are
cancelled, what was stored is written, and the daemon exits well within 10 seconds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import tzinfo

from . import config as configuration
from . import failures
from .archive import Archive, ArchiveLocked
from .config import Config, ConfigError
from .dates import display, iso, now_ms
from .pipeline import FeedResult, run_pass
from .publish import publish_locked
from .schedule import due_at
from .store import FeedState, open_store

MAX_SLEEP = 60.0  # seconds: wake up at least this often to read the configuration again
MAX_BACKOFF = 1800.0  # seconds between attempts after passes that failed one after another


def log_line(result: FeedResult, as_json: bool, tz: tzinfo) -> str:
    """One log line per feed per pass: JSON with the time in ISO 8601, else the time as people read it (`tz`)."""
    if as_json:
        return json.dumps({"time": iso(now_ms()), "feed": result.feed_id, "status": result.status, "new": result.new,
                           "updated": result.updated, "revised": result.revised, "completed": result.completed,
                           "removed": result.removed, "error": result.error, "notes": result.notes,
                           "seconds": round(result.seconds, 3)}, ensure_ascii=False)
    return f"{display(now_ms(), tz)} {result.line()} [{result.seconds:.1f}s]"


def due_feeds(config: Config, states: dict[str, FeedState], now: int) -> tuple[list[str], int]:
    """(ids of the feeds due now, ms when the next one falls due)."""
    due, upcoming = [], []
    for feed in config.feeds:
        if not feed.enabled:
            continue
        state = states.get(feed.id, FeedState(feed.id))
        if state.disabled and state.url == feed.url:
            continue
        when = due_at(state, config.interval_for(feed))
        if when <= now:
            due.append(feed.id)
        else:
            upcoming.append(when)
    return due, min(upcoming, default=now + int(MAX_SLEEP * 1000))


def run(archive: Archive, stop: threading.Event, say: Callable[[str], None], as_json: bool = False,
        passes: int | None = None) -> int:
    """Run passes until `stop` is set (or `passes` passes ran); returns how many ran."""
    config: Config | None = None
    done = failed = 0
    while not stop.is_set() and (passes is None or done < passes):
        try:
            config = configuration.load(archive.config_path)
        except ConfigError as exc:
            say(f"configuration error, keeping the previous one: {exc}")
            if config is None:
                raise
        try:
            ran, next_due = _one_pass(archive, config, stop, say, as_json)
        except Exception as exc:  # noqa: BLE001  a failed pass never ends the daemon: it logs and waits
            failed += 1
            pause = min(MAX_BACKOFF, MAX_SLEEP * 2 ** (failed - 1))
            say(json.dumps({"time": iso(now_ms()), "error": failures.reason(exc), "retry_in": pause}) if as_json
                else f"{display(now_ms(), config.display.zone)} pass failed: {failures.reason(exc)}; trying again in {pause:.0f}s")
            stop.wait(pause)
            continue
        failed = 0
        if ran is None:
            continue  # another process held the folder
        if ran:
            done += 1
            continue
        stop.wait(min(MAX_SLEEP, max(1.0, (next_due - now_ms()) / 1000)))
    return done


def _one_pass(archive: Archive, config: Config, stop: threading.Event, say: Callable[[str], None],
              as_json: bool) -> tuple[bool | None, int]:
    """A pass over the feeds due now, and publishing: (True if one ran, False if none was due,
    None if another process held the folder; ms when the next feed falls due)."""
    store = open_store(archive.state_dir, config.store.url)
    try:
        states = store.feeds()
    finally:
        store.close()
    due, next_due = due_feeds(config, states, now_ms())
    if not due:
        return False, next_due
    tz = config.display.zone
    try:
        with archive.lock(wait=MAX_SLEEP):
            report = run_pass(archive, config, due, on_result=lambda r: say(log_line(r, as_json, tz)), stop=stop)
    except ArchiveLocked as exc:
        say(str(exc))
        return None, next_due
    for line in report.notes + report.problems:
        say(json.dumps({"time": iso(now_ms()), "note": line}, ensure_ascii=False) if as_json
            else f"{display(now_ms(), tz)} {line}")
    if not as_json:
        say(f"{display(now_ms(), tz)} pass: {report.total(tz)} in {report.seconds:.1f}s")
    if config.publish.remotes:
        published = publish_locked(archive, config.publish, report.message())
        say(json.dumps({"time": iso(now_ms()), "publish": published.pushed, "commit": published.commit})
            if as_json else f"{display(now_ms(), tz)} publish: " + "; ".join(published.lines()))
    return True, next_due
