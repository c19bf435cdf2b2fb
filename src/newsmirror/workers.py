"""CPU work of a pass (parsing, cleaning) on every core when the pass is big enough.

The network stage is asynchronous; parsing and cleaning are pure Python work that would hold
the event loop and one core. A large pass sends them to a process pool so that both cores are
busy and the network never waits behind them; a small pass runs them inline and pays no pool
start-up. The pool is forked and warmed before the event loop starts (forking a process that
runs threads and an event loop is unsafe).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
POOL_MIN_FEEDS = 16  # below this a pass is over before a pool would pay for itself


def _ready(_: int) -> int:
    return os.getpid()


class Workers:
    """`await workers.run(fn, *args)`: in the pool when there is one, inline otherwise."""

    def __init__(self, feeds: int, processes: int | None = None):
        cores = processes or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None
        if feeds >= POOL_MIN_FEEDS and cores > 1:
            self.pool = ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"))
            self.pool.submit(_ready, 0)  # with "fork", the first submit forks every worker: now, before any thread

    @property
    def inline(self) -> bool:
        """True when work runs in this process (it may then share this process's connections)."""
        return self.pool is None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Start `fn` without waiting for it (inline: done before this returns)."""
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # handed to whoever asks the future, like a pool would
            done.set_exception(exc)
        return done

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.pool is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)  # the workers exit on their own
