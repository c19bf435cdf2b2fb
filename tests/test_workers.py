"""Worker processes: jobs run elsewhere, under a deadline, and a worker never outlives its parent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import pytest

from newsmirror.workers import Budget, OverBudget, WorkerDied, Workers


def spin(seconds: float) -> int:
    """A pure-Python loop, as a hostile document makes a parser run: nothing interrupts it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return os.getpid()


def fail() -> None:
    raise ValueError("the job's own error")


def die() -> None:
    os._exit(3)


def run(coro):
    return asyncio.run(coro)


def test_no_worker_starts_until_a_job_comes_and_then_one_per_core_at_most():
    pool = Workers(processes=2)
    assert pool.started == 0
    try:
        async def five():
            return await asyncio.gather(*(pool.run(spin, 0.05) for _ in range(5)))

        pids = run(five())
    finally:
        pool.close()
    assert pool.started == 2 and len(set(pids)) == 2 and os.getpid() not in pids


def test_a_job_over_its_budget_is_killed_and_the_others_finish():
    pool = Workers(processes=2)
    budget = Budget(0.5)

    async def both():
        return await asyncio.gather(pool.run(spin, 60, budget=budget), pool.run(spin, 0.2), return_exceptions=True)

    started = time.monotonic()
    try:
        hog, healthy = run(both())
        assert isinstance(hog, OverBudget) and "took longer than 0.5 s" in str(hog)
        assert isinstance(healthy, int)
        assert time.monotonic() - started < 5
        assert run(pool.run(spin, 0)) != hog  # a new worker took the killed one's place
        with pytest.raises(OverBudget):  # the budget is spent: no more work for that feed
            run(pool.run(spin, 0, budget=budget))
    finally:
        pool.close()


def test_a_jobs_exception_is_raised_in_the_caller_and_the_worker_stays():
    pool = Workers(processes=1)
    try:
        with pytest.raises(ValueError, match="the job's own error"):
            run(pool.run(fail))
        assert run(pool.run(spin, 0)) and pool.started == 1
    finally:
        pool.close()


def test_a_worker_that_dies_fails_its_job_only():
    pool = Workers(processes=1)
    try:
        with pytest.raises(WorkerDied, match="exit code 3"):
            run(pool.run(die))
        assert run(pool.run(spin, 0)) and pool.started == 2
    finally:
        pool.close()


CHILD = textwrap.dedent("""
    import asyncio, os, sys, time
    sys.path[:0] = {path!r}
    from newsmirror.archive import Archive
    from newsmirror.workers import Workers
    from test_workers import spin

    archive = Archive(__import__("pathlib").Path({root!r}))
    with archive.lock():
        pool = Workers(processes=2)
        async def main():
            jobs = [asyncio.ensure_future(pool.run(spin, 600)) for _ in range(2)]
            await asyncio.sleep(1.0)
            print(" ".join(str(w.process.pid) for w in pool._all), flush=True)
            await asyncio.sleep(600)
        asyncio.run(main())
""")


def test_workers_die_with_their_parent_and_never_hold_the_lock(tmp_path):
    """A pass killed by an OOM killer or a cron `timeout` (SIGKILL) leaves no worker behind,
    busy or not, and the next pass can take the folder at once."""
    from newsmirror.archive import Archive

    root = tmp_path / "m"
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(path=sys.path, root=str(root))],
                             stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in child.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    child.kill()
    child.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    with Archive(root).lock():  # taken at once
        pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ")[1][0] != "Z"  # a zombie is dead, only not yet reaped
    except FileNotFoundError:
        return False
