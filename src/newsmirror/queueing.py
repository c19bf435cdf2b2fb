"""Past one machine: feeds spread over workers through a job queue in PostgreSQL, one writer.

`newsmirror worker` (on each fetching machine, which needs only `newsmirror.toml`) and
`newsmirror writer` (on the machine holding the folder), sharing the `[store] url` database:

    workers ── claim a feed job (procrastinate: FOR UPDATE SKIP LOCKED, a lock per feed) ──┐
       │ fetch, parse, extract, clean, store (entries `pending`)            PostgreSQL ◄───┘
    writer ── writes the pending entries, lists, feeds out, site, index; publishes (git)

The queue is procrastinate's, not ours: a periodic task defers one job per due feed (the
daemon's schedule rules, `daemon.due_feeds`; a queueing lock keeps one waiting job a feed, a lock
runs one at a time), and each job is the feed's part of a pass (`pipeline.store_feed`). Every
worker sends a heartbeat; each also looks for jobs whose worker stopped sending one (SIGKILL, a
lost machine) and puts them back in the queue: a dead worker's feed is taken by another within
STALLED + HEARTBEAT seconds, however long jobs run (the look-up is no job: it needs no free slot).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import procrastinate
import psycopg

from .archive import Archive
from .config import Config, FeedConfig
from .dates import now_ms
from .schedule import due_at
from .store import Store, StoreError, open_store
from .workers import Workers

QUEUE = "newsmirror"
FEED_TASK = "newsmirror.feed"
SCHEDULE_TASK = "newsmirror.schedule"
SCHEDULE_CRON = "*/10 * * * * *"  # every 10 seconds (croniter's sixth field): due feeds get a job
HEARTBEAT = 5.0  # seconds between a worker's heartbeats
STALLED = 20.0  # seconds without a heartbeat after which a worker is taken for dead
RETRY = procrastinate.RetryStrategy(max_attempts=3, wait=30)  # a job that raised (the database was away)

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What a worker's jobs run with: its folder (only newsmirror.toml needed), configuration,
    and one pool of CPU worker processes shared by its jobs."""

    archive: Archive
    config: Config
    say: Callable[[str], None] = print
    workers: Workers = field(default_factory=Workers)
    store: Store | None = None

    @property
    def url(self) -> str:
        assert self.config.store.url is not None
        return self.config.store.url

    def due(self) -> list[str]:
        """The feeds due now, by the daemon's rules (`daemon.due_feeds`)."""
        from .daemon import due_feeds

        store = open_store(self.archive.state_dir, self.url)
        try:
            return due_feeds(self.config, store.feeds(), now_ms())[0]
        finally:
            store.close()

    async def run_feed(self, feed_id: str) -> str:
        """A feed's job: skipped when it is no longer due (a job deferred while the last ran)."""
        from .daemon import log_line
        from .pipeline import store_feed

        feed = next((f for f in self.config.feeds if f.id == feed_id and f.enabled), None)
        if feed is None:
            return "not configured"
        if self.store is None:  # one connection for the worker's jobs: they share one thread, and no
            self.store = open_store(self.archive.state_dir, self.url)  # transaction spans an await
        if not is_due(feed, self.config, self.store.feed(feed_id), now_ms()):
            return "not due"
        try:
            result = await store_feed(self.archive, self.config, self.store, self.workers, feed)
        except StoreError:  # the database went away: the next job connects again; this one is retried (RETRY)
            self.store.close()
            self.store = None
            raise
        self.say(log_line(result, False, self.config.display.zone))
        return result.status


def is_due(feed: FeedConfig, config: Config, state: Any, now: int) -> bool:
    return due_at(state, config.interval_for(feed)) <= now


def app_for(url: str, context: Context | None = None) -> procrastinate.App:
    """The procrastinate app on the database: its tasks run with `context` (a worker's)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name=FEED_TASK, queue=QUEUE, retry=RETRY)
    async def feed(feed_id: str) -> str:
        assert context is not None
        return await context.run_feed(feed_id)

    @app.periodic(cron=SCHEDULE_CRON, periodic_id="due")
    @app.task(name=SCHEDULE_TASK, queue=QUEUE, queueing_lock="schedule", priority=10)
    async def schedule(timestamp: int) -> int:
        assert context is not None
        return await defer(feed, context.due())

    return app


async def defer(task: Any, feed_ids: list[str]) -> int:
    """One job per feed, none for a feed that has one waiting already; how many were deferred."""
    deferred = 0
    for feed_id in feed_ids:
        try:
            await task.configure(lock=feed_id, queueing_lock=feed_id).defer_async(feed_id=feed_id)
            deferred += 1
        except procrastinate.exceptions.AlreadyEnqueued:
            pass
    return deferred


async def recover(app: procrastinate.App, say: Callable[[str], None]) -> None:
    """Forever: put back in the queue the jobs of workers that stopped sending heartbeats."""
    while True:
        await asyncio.sleep(HEARTBEAT)
        try:
            for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=STALLED):
                await app.job_manager.retry_job(job)
                say(f"{job.task_kwargs.get('feed_id', job.task_name)}: its worker stopped answering; queued again")
        except (psycopg.Error, procrastinate.exceptions.ProcrastinateException) as exc:  # another worker was first, or the database is away
            log.info("stalled jobs: %s", exc)


def work(archive: Archive, config: Config, concurrency: int, say: Callable[[str], None]) -> None:
    """`newsmirror worker`: claim and run feed jobs until SIGTERM or SIGINT."""
    context = Context(archive, config, say)
    app = app_for(context.url, context)

    async def main() -> None:
        async with app.open_async():
            recovering = asyncio.create_task(recover(app, say))
            try:
                await app.run_worker_async(queues=[QUEUE], concurrency=concurrency, name=f"{socket.gethostname()}:{os.getpid()}",
                                           update_heartbeat_interval=HEARTBEAT, stalled_worker_timeout=STALLED)
            finally:
                recovering.cancel()

    try:
        asyncio.run(main())
    finally:
        context.workers.close()
        if context.store is not None:
            context.store.close()


def migrate(url: str) -> bool:
    """Create the queue's tables (procrastinate's schema) when missing; whether it did."""
    with psycopg.connect(url, autocommit=True) as db:
        if db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() != (None,):
            return False
    app = app_for(url)
    with app.open():
        app.schema_manager.apply_schema()
    return True


@dataclass(frozen=True)
class QueueState:
    """What `doctor` reports of the queue."""

    waiting: int  # feed jobs not claimed yet
    running: int
    workers: int  # workers that sent a heartbeat within STALLED seconds
    oldest: float | None  # seconds the oldest unclaimed feed job has waited


def queue_state(url: str) -> QueueState:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
            if db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,):
                raise StoreError("the job queue's tables are missing: run `newsmirror migrate`")
            row = db.execute(
                "SELECT count(*) FILTER (WHERE j.status = 'todo'), count(*) FILTER (WHERE j.status = 'doing'),"
                " extract(epoch FROM now() - min(e.at) FILTER (WHERE j.status = 'todo'))"
                " FROM procrastinate_jobs j LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'"
                " WHERE j.task_name = %s AND j.status IN ('todo', 'doing')", (FEED_TASK,)).fetchone()
            seen = db.execute("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - %s * interval '1 second'",
                              (STALLED,)).fetchone()
    except psycopg.Error as exc:
        raise StoreError(f"job queue: {str(exc).strip().splitlines()[0]}") from exc
    assert row is not None and seen is not None  # aggregates: always one row
    waiting, running, oldest = row
    return QueueState(waiting, running, seen[0], None if oldest is None else float(oldest))


WRITE_EVERY = 5.0  # seconds between the writer's passes


def write(archive: Archive, stop: Any, say: Callable[[str], None], once: bool = False) -> int:
    """`newsmirror writer`: write what the workers stored, then publish (when configured), every
    WRITE_EVERY seconds until `stop` is set (a threading.Event) or once; returns how many passes ran."""
    from . import config as configuration
    from .pipeline import run_pass
    from .publish import publish_locked

    done = 0
    while not stop.is_set():
        config = configuration.load(archive.config_path)  # read again each time, as the daemon does
        with archive.lock(wait=60):
            report = run_pass(archive, config, writer=True)
        for line in report.notes + report.problems:
            say(line)
        if report.written:
            say(f"wrote {report.written} articles in {report.seconds:.1f}s")
        if config.publish.remotes and report.written:
            say("publish: " + "; ".join(publish_locked(archive, config.publish, "newsmirror: articles from the workers").lines()))
        done += 1
        if once:
            break
        stop.wait(WRITE_EVERY)
    return done
