"""Where fired triggers wait for a worker: in this process (the embedded default, one server
per environment), or in procrastinate's queue on the team database (team_queue.py).

A queue calls `handle(job, takeover)` on a worker thread for each job it delivers; `takeover`
counts the deliveries before this one that a stopped server never finished.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from flexor_iac.serve.jobs import Job

Handle = Callable[[Job, int], None]
_log = logging.getLogger("flexor.serve")
_REMEMBERED = 100_000  # dedupe keys a local queue remembers


def default_workers() -> int:
    """Runs at once on one server, sized from the machine: two per core (a run mostly waits,
    on the database or a connector, with the GIL released), at least 4 and at most 16 (each
    holds a database connection and may hold a render worker process)."""
    return max(4, min(16, 2 * (os.cpu_count() or 1)))


class Queue(Protocol):
    """What the service needs of a queue."""

    async def start(self, handle: Handle) -> None:
        """Start delivering jobs to `handle`."""

    async def submit(self, job: Job) -> bool:
        """Queue a job; False when its dedupe key was queued before (by any server)."""

    async def submit_many(self, jobs: Sequence[Job]) -> list[bool]:
        """Queue several jobs at once (a minute's due ticks); for each, `submit`'s answer."""

    async def depth(self) -> int:
        """Jobs waiting to start."""

    async def running(self) -> int:
        """Jobs started and not finished here."""

    async def check(self) -> None:
        """Raise when the queue cannot take work (for /healthz)."""

    async def recover(self) -> int:
        """Give jobs of servers that stopped to the living ones; how many were recovered."""

    async def stop(self, grace: float) -> int:
        """Take no more work, give running jobs `grace` seconds; how many did not finish."""


class LocalQueue:
    """An in-process queue with `workers` threads (the embedded default)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flexor-run")
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Future[None]] = set()
        self._handle: Handle | None = None

    async def start(self, handle: Handle) -> None:
        self._handle = handle
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]

    async def submit(self, job: Job) -> bool:
        if job.dedupe is not None:
            if job.dedupe in self._seen:
                return False
            self._seen[job.dedupe] = None
            if len(self._seen) > _REMEMBERED:
                self._seen.popitem(last=False)
        self._queue.put_nowait(job)
        return True

    async def submit_many(self, jobs: Sequence[Job]) -> list[bool]:
        return [await self.submit(job) for job in jobs]

    async def depth(self) -> int:
        return self._queue.qsize()

    async def running(self) -> int:
        return len(self._running)

    async def check(self) -> None:
        if not self._tasks or all(task.done() for task in self._tasks):
            raise RuntimeError("no worker is running")

    async def recover(self) -> int:
        return 0  # one server: nothing is ever left to another

    async def _work(self) -> None:
        assert self._handle is not None
        loop = asyncio.get_running_loop()
        while True:
            job = await self._queue.get()
            future = loop.run_in_executor(self._pool, self._handle, job, 0)
            self._running.add(future)
            future.add_done_callback(self._running.discard)  # stop() waits for the rest
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:
                raise
            except Exception:  # the handler records failures itself; never lose the worker
                _log.exception("job %s of %s failed", job.run_id, job.agent)

    async def stop(self, grace: float) -> int:
        for task in self._tasks:
            task.cancel()
        dropped = self._queue.qsize()
        if dropped:
            _log.warning("%d queued job(s) not started", dropped)
        unfinished = 0
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=grace)
            unfinished = len(pending)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return unfinished
