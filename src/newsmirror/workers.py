"""The CPU work of a pass (parsing, extraction, cleaning) in worker processes that can be stopped.

A pure-Python loop cannot be interrupted from the event loop: a hostile document that makes a
parser or a regular expression run for minutes would hold the pass, and with it the archive's
lock, for as long. So every such job runs in a worker process under a deadline; a worker that
overruns is killed (and replaced when work comes), its job fails alone, and the pass goes on.
Workers also keep both cores busy while the event loop fetches.

- Started when the first job comes (a pass where every feed answers 304 starts none), one per
  core at most, forked from this process (its modules are loaded: a worker costs a few ms).
- They die with their parent (Linux: PR_SET_PDEATHSIG; elsewhere a thread watching the
  parent), never hold the archive's lock (archive.py closes it in every forked child) and hold
  no other worker's pipe, so a killed worker is noticed at once.
- A job's exception comes back and is raised in the caller; a worker that dies or is killed
  raises WorkerDied / OverBudget.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1
MEMORY_HEADROOM = 1024**3  # a worker may map this much beyond what it held when forked (then MemoryError)


class OverBudget(Exception):
    """A feed's CPU work took longer than its budget; the worker doing it was killed."""


class WorkerDied(Exception):
    """A worker process ended in the middle of a job (killed from outside, or out of memory)."""


class Budget:
    """The seconds of worker time one feed may use in one pass (parsing, extraction, cleaning)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0

    def remaining(self) -> float:
        return self.seconds - self.spent

    def exceeded(self) -> OverBudget:
        return OverBudget(f"took longer than {self.seconds:g} s to parse, extract and clean")


def die_with_parent(parent: int | None = None) -> None:
    """In a child process: end when the parent ends, whatever killed it (an OOM kill, a cron
    `timeout`), so that no worker outlives the pass it worked for."""
    parent = parent or os.getppid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            _watch_parent(parent)
    else:
        _watch_parent(parent)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="newsmirror-parent-watch").start()


def _limit_memory() -> None:
    """A runaway allocation fails with MemoryError in the worker instead of taking the machine."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + MEMORY_HEADROOM, resource.RLIM_INFINITY))
    except (OSError, ValueError, ImportError):  # no /proc (macOS): no limit
        pass


def _serve(conn: Connection, inherited: list[Connection], parent: int) -> None:
    """A worker's life: jobs in, results (or the job's exception) out, until the pipe closes."""
    for other in inherited:  # other workers' pipes: holding them would hide their deaths
        other.close()
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it takes us along
    _limit_memory()
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001  handed to the caller, like a pool would
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result or exception
            conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.process = process
        self.conn = conn

    def call(self, fn: Callable[..., Any], args: tuple) -> tuple[bool, Any]:
        """Send a job and wait for its reply (on an I/O thread: blocking, the GIL released)."""
        try:
            self.conn.send((fn, args))
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1)
            self.conn.close()
            raise WorkerDied(f"a worker process ended in the middle of {getattr(fn, '__name__', 'a job')}"
                             f" (exit code {self.process.exitcode})") from None
        except Exception as exc:  # a reply that does not unpickle here: the worker itself is fine
            return False, RuntimeError(f"{type(exc).__name__}: {exc}")

    def kill(self) -> None:
        """Kill the process; the I/O thread waiting on its pipe then sees the end and closes it."""
        self.process.kill()
        self.process.join(5)


class Workers:
    """`await workers.run(fn, *args, budget=...)`: `fn(*args)` in a worker process."""

    def __init__(self, processes: int | None = None):
        self.size = max(1, processes or os.cpu_count() or 1)
        self._context = multiprocessing.get_context("fork")
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._io = ThreadPoolExecutor(self.size, thread_name_prefix="newsmirror-worker-io")
        self.started = 0  # processes started in this pass (tests, and the curious)

    async def run(self, fn: Callable[..., T], *args: Any, budget: Budget | None = None) -> T:
        """`fn(*args)` in a worker; its exception is raised here. With a budget, the time the job
        takes counts against it, and a job that would overrun it is killed: OverBudget."""
        if budget is not None and budget.remaining() <= 0:
            raise budget.exceeded()
        worker = await self._take()
        if budget is not None and budget.remaining() <= 0:  # spent meanwhile, by the feed's other jobs
            self._give_back(worker)  # not sent a job that can only be killed at once, and its worker with it
            raise budget.exceeded()
        started = time.monotonic()
        call = asyncio.get_running_loop().run_in_executor(self._io, worker.call, fn, args)
        call.add_done_callback(_retrieved)  # a killed worker's call ends in WorkerDied nobody awaits
        try:
            if budget is None:
                ok, value = await asyncio.shield(call)
            else:
                ok, value = await asyncio.wait_for(asyncio.shield(call), budget.remaining())
        except TimeoutError:
            self._discard(worker)
            raise budget.exceeded() from None  # type: ignore[union-attr]
        except WorkerDied:
            self._discard(worker)
            raise
        except asyncio.CancelledError:  # the pass is stopping: the job's result is not wanted
            self._discard(worker)
            raise
        finally:
            if budget is not None:
                budget.spent += time.monotonic() - started
        self._give_back(worker)
        if not ok:
            raise value
        return value

    async def _take(self) -> _Worker:
        while not self._idle:
            if len(self._all) < self.size:
                return self._start()
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
                raise
        return self._idle.pop()

    def _start(self) -> _Worker:
        mine, theirs = self._context.Pipe()
        inherited = [w.conn for w in self._all] + [mine]
        process = self._context.Process(target=_serve, args=(theirs, inherited, os.getpid()), daemon=True,
                                        name="newsmirror-worker")
        process.start()
        theirs.close()
        worker = _Worker(process, mine)
        self._all.append(worker)
        self.started += 1
        return worker

    def _give_back(self, worker: _Worker) -> None:
        self._idle.append(worker)
        self._wake()

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker whose job overran or was abandoned; a new one starts when work comes."""
        worker.kill()
        self._all.remove(worker)
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        """End every worker: idle ones see their pipe close and exit; busy ones (a stopped pass)
        are killed, which ends the I/O threads waiting on them."""
        for worker in self._all:
            if worker in self._idle:
                worker.conn.close()
            else:
                worker.kill()
        self._io.shutdown(wait=True)
        for worker in self._all:
            worker.process.join(1)
            if worker.process.is_alive():
                worker.kill()
            worker.conn.close()
        self._all.clear()
        self._idle.clear()


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
