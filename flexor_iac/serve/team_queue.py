"""Team mode's queue: procrastinate on the team database, shared by every `flexor serve`.

What procrastinate does for us, so that each fired trigger runs once on however many servers:
* a schedule tick or an event is deferred as a *periodic* job keyed by (periodic id,
  timestamp): the database keeps the first defer and ignores the others;
* a worker takes a job with `SELECT … FOR UPDATE SKIP LOCKED` (one server runs it);
* workers keep a heartbeat; the jobs of a worker whose heartbeat stopped (a server killed)
  are handed back to the queue by a living server (`recover`, one server at a time), with
  their attempt counted;
* a run that lost the control plane (StateError) is delivered again (DELIVERIES in all).
The queue of an environment is `flexor-<env>`: a staging server never runs production's jobs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy, exceptions
from procrastinate.job_context import JobResult
from procrastinate.worker import Worker
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from flexor_iac.core.errors import StateError
from flexor_iac.serve.jobs import Job
from flexor_iac.serve.queues import Handle
from flexor_iac.serve.team_pool import QueuePool

_log = logging.getLogger("flexor.serve")
TASK = "flexor.fire"


DELIVERIES = 5  # of a job whose run lost the control plane (takeovers count too)
RETRY_WAIT = 5  # seconds between them


# procrastinate_defer_periodic_job_v2 (what `defer_periodic_job` calls) once per row, in order:
# the id of the job deferred, or NULL where the (periodic id, timestamp) was deferred before.
PERIODIC_DEFERS = """
SELECT t.n, procrastinate_defer_periodic_job_v2(%(queue)s, NULL, NULL, %(task)s, 0, t.id,
                                                t.stamp, t.args) AS id
FROM unnest(%(ids)s::varchar[], %(stamps)s::bigint[], %(args)s::jsonb[])
     WITH ORDINALITY AS t(id, stamp, args, n)"""


# procrastinate_defer_jobs_v1 (what `batch_defer_jobs` calls) on the jobs' arguments sent as
# one JSON array: psycopg then writes one value, not an array of composite values field by field.
DEFERS = """
SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(
    SELECT ROW(%(queue)s, %(task)s, 0, NULL, NULL, t.args, NULL)::procrastinate_job_to_defer_v1
    FROM jsonb_array_elements(%(args)s::jsonb) WITH ORDINALITY AS t(args, n)
    ORDER BY t.n))) AS id"""


def queue_name(environment: str) -> str:
    """The procrastinate queue of one environment."""
    return f"flexor-{environment}"


def recovery_key(queue: str) -> int:
    """The advisory lock key of a queue's stalled-job recovery (a signed 64-bit integer)."""
    digest = hashlib.sha256(f"flexor-iac recovery {queue}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _Worker(Worker):
    """procrastinate's worker, which builds a record of a job's fields (attrs' `asdict`) for
    each of the three log lines it writes a job, whether or not anything shows them: a twentieth
    of a busy server's time. Built here only when its logger shows INFO."""

    def _log_extra(self, action: str, context: JobContext | None,
                   job_result: JobResult | None, **kwargs: Any) -> dict[str, Any]:
        if not self.logger.isEnabledFor(logging.INFO):
            return {}
        return super()._log_extra(action, context, job_result, **kwargs)


class TeamQueue:
    """procrastinate's queue for one environment, with `workers` concurrent runs here.

    `lease`: seconds without a heartbeat after which a server's running jobs go to another;
    `grace`: seconds a stopping server gives its running jobs.
    """

    def __init__(self, url: str, environment: str, workers: int, lease: float = 30.0,
                 grace: float = 30.0) -> None:
        self.url = url
        self.queue = queue_name(environment)
        self.workers = workers
        self.lease = lease
        self.grace = grace
        self.app = App(connector=PsycopgConnector(conninfo=url))  # its pool: start()
        self._handle: Handle | None = None
        self._pool: AsyncConnectionPool | None = None  # procrastinate's, once started
        self._worker: asyncio.Task[None] | None = None
        self._procrastinate: Worker
        self._running = 0
        self._counting = threading.Lock()
        self._waiting: list[tuple[Job, asyncio.Future[None]]] = []  # submitted, not deferred
        self._deferring: asyncio.Task[None] | None = None
        # A run that lost the control plane is tried again (its job is not done).
        # procrastinate retries while a job's attempts (0 at the first delivery) are fewer
        retry = RetryStrategy(max_attempts=DELIVERIES - 1, wait=RETRY_WAIT,
                              retry_exceptions={StateError})
        self.app.task(name=TASK, pass_context=True, retry=retry)(self._fire)

    def _fire(self, context: JobContext, job: dict[str, Any], timestamp: int = 0) -> None:
        assert self._handle is not None and context.job is not None
        with self._counting:
            self._running += 1
        try:
            self._handle(Job.from_json(job), context.job.attempts)
        finally:
            with self._counting:
                self._running -= 1

    async def start(self, handle: Handle) -> None:
        self._handle = handle
        self._pool = QueuePool(self.url, max(2, self.workers + 2))
        await self._pool.open(wait=True)
        await self.app.open_async(self._pool)
        self._procrastinate = _Worker(
            self.app, queues=[self.queue], concurrency=self.workers,
            install_signal_handlers=False, update_heartbeat_interval=self.lease / 4,
            stalled_worker_timeout=self.lease, delete_jobs="successful",
            shutdown_graceful_timeout=self.grace, name="flexor-serve")
        self._worker = asyncio.create_task(self._procrastinate.run(),  # type: ignore[no-untyped-call]
                                           name="procrastinate worker")

    async def submit(self, job: Job) -> bool:
        if job.dedupe is None:  # (a webhook) deferred with those submitted meanwhile
            queued = asyncio.get_running_loop().create_future()
            self._waiting.append((job, queued))
            if self._deferring is None or self._deferring.done():
                self._deferring = asyncio.create_task(self._defer_waiting())
            await queued
            return True
        return (await self.submit_many([job]))[0]  # a tick or an event: once, by key

    async def _defer_waiting(self) -> None:
        """Defer the jobs submitted while the previous batch was sent, in one statement (one
        insert: all of them, or none and each submit raises), until none waits."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._defer([job for job, _deferred in batch])
            except Exception as error:
                for _job, deferred in batch:
                    if not deferred.done():
                        deferred.set_exception(error)
            else:
                for _job, deferred in batch:
                    if not deferred.done():
                        deferred.set_result(None)

    async def _defer(self, jobs: Sequence[Job]) -> None:
        await self.app.connector.execute_query_all_async(
            DEFERS, queue=self.queue, task=TASK,
            args=Jsonb([{"job": job.as_json()} for job in jobs]))

    async def submit_many(self, jobs: Sequence[Job]) -> list[bool]:
        # One statement for every deduplicated job (procrastinate's own periodic defer, once
        # per row): a minute's due ticks are one round trip, whatever their number. Keys go
        # in order, so two servers deferring the same minute never wait on each other's rows
        # crosswise.
        answers = [True] * len(jobs)
        if plain := [job for job in jobs if job.dedupe is None]:
            await self._defer(plain)
        keyed = sorted((job.dedupe, index, job) for index, job in enumerate(jobs)
                       if job.dedupe is not None)
        if keyed:
            rows = await self.app.connector.execute_query_all_async(
                PERIODIC_DEFERS, queue=self.queue, task=TASK,
                ids=[key for (key, _stamp), _index, _job in keyed],
                stamps=[stamp for (_key, stamp), _index, _job in keyed],
                args=[Jsonb({"job": job.as_json(), "timestamp": stamp})
                      for (_key, stamp), _index, job in keyed])
            deferred = {int(row["n"]): row["id"] is not None for row in rows}
            for row, (_dedupe, index, _job) in enumerate(keyed, start=1):
                answers[index] = deferred[row]
        return answers

    async def depth(self) -> int:
        row = await self.app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE queue_name=%(queue)s AND "
            "status='todo'", queue=self.queue)
        return int(row["n"])

    async def running(self) -> int:
        return self._running

    async def check(self) -> None:
        if self._worker is None or self._worker.done():
            raise RuntimeError("the queue's worker is not running")
        if not await self.app.job_manager.check_connection_async():
            raise RuntimeError("the queue's tables are missing")

    async def recover(self) -> int:
        # One server at a time (a transaction-scoped advisory lock, skipped when another holds
        # it): a server reading the stalled jobs while another gives them back could give back
        # a job a living worker has taken since, and it would run twice.
        async with await psycopg.AsyncConnection.connect(self.url) as connection, \
                connection.transaction():
            cursor = await connection.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                              (recovery_key(self.queue),))
            row = await cursor.fetchone()
            if row is None or not row[0]:
                return 0
            stalled = await self.app.job_manager.get_stalled_jobs(
                queue=self.queue, seconds_since_heartbeat=self.lease)
            recovered = 0
            for job in stalled:
                try:
                    await self.app.job_manager.retry_job(job)
                except exceptions.ConnectorException:
                    continue  # finished meanwhile
                recovered += 1
                _log.warning("job %s was running on a server that stopped; queued again",
                             job.id)
            return recovered

    async def _beat_while_stopping(self) -> None:
        while (worker_id := self._procrastinate.worker_id) is not None:
            try:
                await self.app.job_manager.update_heartbeat(worker_id)
            except Exception:  # the database lost: the lease runs out, as for a dead server
                return
            await asyncio.sleep(self.lease / 4)

    async def stop(self, grace: float) -> int:
        # Cancelling procrastinate's worker stops its fetching and waits for the running jobs
        # (`grace`, given at start); the jobs still running then stay `doing` and, their
        # worker gone, another server's `recover` queues them again.
        if self._worker is not None:
            # procrastinate stops its heartbeat before it waits for the running jobs: beat
            # here meanwhile, or another server would take them over while they still run.
            beating = asyncio.create_task(self._beat_while_stopping())
            self._worker.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), timeout=grace + 5)
            except (asyncio.CancelledError, TimeoutError):
                pass
            except Exception:  # a worker that failed already has nothing left to stop
                _log.exception("the queue's worker failed")
            beating.cancel()
        unfinished = self._running
        await self.app.close_async()
        if self._pool is not None:
            await self._pool.close()
        return unfinished
