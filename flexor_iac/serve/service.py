"""One `flexor serve` process: it reads the roster, fires due schedule ticks and new PlexiFact
events into the queue, takes webhook requests, and runs what the queue delivers.

Everything that reads the time takes it from `now` (injectable: tests drive a simulated clock).
The control plane is read on a thread of its own, runs on the queue's workers, chores on theirs.

What is taken is recorded before it can be lost: a tick or event is recorded as taken once
its job is queued, so a server that dies after that leaves it to the queue (team mode) or,
before that, to the next start's catch-up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flexor_iac.controlplane.agents import ActiveAgent
from flexor_iac.controlplane.serving import ServerRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.language import render_pool
from flexor_iac.runtime.events import matches
from flexor_iac.serve.chores import Chore, on_thread
from flexor_iac.serve.jobs import Job, Outcome, Runner, event_job, new_run_id, tick_job
from flexor_iac.serve.metrics import Metrics
from flexor_iac.serve.queues import Queue, default_workers
from flexor_iac.serve.roster import Roster, trigger_of
from flexor_iac.serve.schedule import Schedule

_log = logging.getLogger("flexor.serve")
T = TypeVar("T")
HEARTBEAT = timedelta(seconds=10)
EVENTS_PER_POLL = 500


@dataclass(frozen=True)
class ServeOptions:
    """How a server runs (the `flexor serve` options)."""

    environment: Environment | None  # None: the team server's API alone (no service)
    host: str = "127.0.0.1"
    port: int = 8470
    workers: int = field(default_factory=default_workers)  # runs at once
    grace: float = 30.0  # seconds running runs get when the server stops
    refresh: float = 2.0  # seconds between two reads of the roster
    poll: float = 1.0  # seconds between two looks at the clock and the events
    lease: float = 30.0  # team mode: seconds before a silent server's runs go to another
    max_body: int = 1 << 20  # bytes a webhook request may carry
    read_timeout: float = 10.0  # seconds a request's headers, and then its body, may take
    connections_per_client: int = 64  # connections one client address may hold open at once


class Service:
    """The triggers of one environment, fired into a queue."""

    def __init__(self, paths: ProjectPaths, where: str, options: ServeOptions, queue: Queue,
                 now: Callable[[], datetime] = clock.now, runner: Runner | None = None,
                 say: Callable[[str], None] | None = None, chores: Sequence[Chore] = ()) -> None:
        assert options.environment is not None  # a service serves one environment
        self.environment: Environment = options.environment
        self.paths, self.options, self.where, self.env = paths, options, where, \
            self.environment.value
        self.queue, self.now, self.say = queue, now, say or (lambda line: None)
        self.chores = chores  # beside the triggers, each on a thread (serve/chores.py)
        self.runner = runner or Runner(paths, where)
        render_pool.expect(options.workers)  # runs render at once: a render worker each
        self.metrics = Metrics(self.env)
        self.roster = Roster(self.env)
        self.server = ServerRecord(uuid.uuid4().hex, self.env, socket.gethostname(),
                                   os.getpid(), "", now(), now())
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flexor-serve-db")
        self._store: ControlPlane | None = None
        self._next: dict[str, datetime] = {}  # agent -> its next tick (cached)
        self._loops: list[asyncio.Task[None]] = []
        self._beat = self._recovered = now()
        self.stopping = False

    # --- the control plane, off the event loop ------------------------------------------------

    async def call(self, work: Callable[[ControlPlane], T]) -> T:
        """`work(store)` on the server's own control-plane thread."""
        def on_thread() -> T:
            if self._store is None:
                self._store = ControlPlane(self.where)
            return work(self._store)
        return await asyncio.get_running_loop().run_in_executor(self._db, on_thread)

    # --- life ---------------------------------------------------------------------------------

    async def start(self, address: str = "", loops: bool = True) -> None:
        """Register, read the roster, start the queue and (unless a test drives the clock
        itself, calling `tick`) the loops."""
        now = self.now()
        self.server = ServerRecord(self.server.server_id, self.env, self.server.host,
                                   self.server.pid, address, now, now)
        await self.call(lambda store: store.register_server(self.server))
        await self.refresh()
        await self.queue.start(self.handle)
        if loops:
            every = [(self.options.refresh, self.refresh), (self.options.poll, self.tick),
                     *((seconds, on_thread(work)) for seconds, work in self.chores)]
            self._loops = [asyncio.create_task(self._every(s, w)) for s, w in every]

    async def stop(self) -> int:
        """Take no more work; give running runs the grace period; how many did not finish."""
        self.stopping = True
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        unfinished = await self.queue.stop(self.options.grace)
        await self.call(lambda store: store.unregister_server(self.server.server_id))
        await self.call(lambda store: store.close())
        self._db.shutdown(wait=True)
        if not unfinished:  # a run still going keeps its connection until the process ends
            self.runner.close()
        return unfinished

    async def _every(self, seconds: float, work: Callable[[], Any]) -> None:
        while True:
            try:
                await work()
            except Exception as error:  # a lost database: said, and tried again next time
                _log.warning("%s", error)
                self.say(f"warning: {error}")
            await asyncio.sleep(seconds)

    async def tick(self) -> None:
        """One look at the clock: due ticks, new events, heartbeat, stalled jobs."""
        now = self.now()
        await self.fire_due(now)
        await self.take_events(now)
        self.metrics.queue_depth.set(await self.queue.depth())
        self.metrics.running.set(await self.queue.running())
        if now - self._beat >= HEARTBEAT:
            self._beat = now
            await self.call(lambda store: store.server_heartbeat(self.server.server_id, now))
        if now - self._recovered >= timedelta(seconds=min(10.0, self.options.lease / 2)):
            self._recovered = now
            if recovered := await self.queue.recover():
                self.say(f"{recovered} run(s) of a server that stopped queued again")
        self.alive = now

    alive: datetime | None = None  # when the last look at the clock ended (for /healthz)

    async def refresh(self) -> None:
        """Read the roster again (a deploy, rollback, pause or resume since the last read)."""
        roster = await self.call(lambda store: Roster.read(store, self.env))
        if roster.digest() != self.roster.digest() and self.roster.agents:
            self.say(f"roster changed: {len(roster.agents)} agent(s) deployed to {self.env}")
        for name, schedule in roster.schedules.items():
            old = self.roster.schedules.get(name)
            if old is None or old.cron != schedule.cron or old.zone != schedule.zone:
                self._next.pop(name, None)
        self.roster = roster
        self.metrics.scheduled.set(len(roster.schedules))

    # --- schedules ------------------------------------------------------------------------------

    async def fire_due(self, now: datetime) -> list[Job]:
        """Queue every schedule tick due at `now` (each once, on any number of servers), in one
        batch, then record them taken in one transaction (a failure: retried next look)."""
        waiting = [name for name in self.roster.schedules
                   if name not in self._next or self._next[name] <= now]
        if not waiting:
            return []
        taken = await self.call(lambda store: store.schedule_ticks(self.env))
        jobs: list[Job] = []
        passed: dict[str, datetime] = {}  # agent -> the newest tick passed, fired or not
        upcoming: dict[str, datetime] = {}
        for name in waiting:
            agent = self.roster.agents[name]
            # A deploy since the last tick taken (a new cron, a redeploy) starts afresh.
            taken_tick = taken.get(name)
            since = max(taken_tick, agent.activated_at) if taken_tick else agent.activated_at
            job = self._due_tick(agent, self.roster.schedules[name], since, now, passed,
                                 upcoming)
            if job is not None:
                jobs.append(job)
        queued = await self.queue.submit_many(jobs) if jobs else []
        fired = [job for job, new in zip(jobs, queued, strict=True) if new]  # (else: another's)
        for job in fired:
            self.say(f"{job.agent}: scheduled run {job.run_id[:12]} for "
                     f"{job.due.isoformat(timespec='minutes')}")
        if passed:
            await self.call(lambda store: store.advance_ticks(self.env, passed))
        self._next.update(upcoming)  # only now: a failure above is retried next look
        return fired

    def _due_tick(self, agent: ActiveAgent, schedule: Schedule, since: datetime, now: datetime,
                  passed: dict[str, datetime], upcoming: dict[str, datetime]) -> Job | None:
        """The job of `agent`'s tick due at `now`, if one fires; notes in `passed` the newest
        tick passed and in `upcoming` the next one."""
        catch_up = trigger_of(agent).get("catch_up", True) is not False
        due = schedule.due(since, now, catch_up)
        upcoming[agent.name] = schedule.next_after(max(now, due.newest or since))
        if due.newest is None:
            return None
        passed[agent.name] = due.newest
        if due.tick is not None and self.roster.fires(agent):
            return tick_job(self.env, agent.name, due.tick, due.missed, due.late)
        if due.late and self.roster.fires(agent):
            self.say(f"{agent.name}: {due.missed + 1} missed tick(s) skipped (catch_up: false)")
        return None

    # --- events ---------------------------------------------------------------------------------

    async def take_events(self, now: datetime) -> int:
        """Queue a run of every matching agent for each PlexiFact event not taken yet."""
        del now

        def read(store: ControlPlane) -> tuple[int, list[Any]]:
            cursor = store.event_cursor(self.env) or 0
            return cursor, store.events_after(self.env, cursor, EVENTS_PER_POLL)

        _cursor, events = await self.call(read)
        if not events:
            return 0
        queued = 0
        listening = [a for a in self.roster.agents.values()
                     if trigger_of(a).get("type") == "event" and self.roster.fires(a)]
        for event in events:
            for agent in listening:
                if not matches(trigger_of(agent), event):
                    continue
                job = event_job(self.env, agent.name, event)
                if await self.queue.submit(job):
                    queued += 1
                    self.say(f"{agent.name}: event {event.name} #{event.id} → run "
                             f"{job.run_id[:12]}")
        newest = events[-1].id
        await self.call(lambda store: store.advance_event_cursor(self.env, newest))
        return queued

    # --- webhooks -------------------------------------------------------------------------------

    async def webhook(self, agent: ActiveAgent, body: dict[str, Any]) -> Job:
        """Queue a run of `agent` for one webhook request."""
        job = Job(self.env, agent.name, "webhook", new_run_id(), self.now().isoformat(), body)
        await self.queue.submit(job)
        self.say(f"{agent.name}: webhook → run {job.run_id[:12]}")
        return job

    # --- runs (on a worker thread) ------------------------------------------------------------

    def handle(self, job: Job, takeover: int) -> None:
        """Run one job and count it (a lost control plane is said, and raised: team mode
        delivers the job again)."""
        try:
            outcome = self.runner.run(job, self.now, takeover)
        except StateError as error:
            self.metrics.skipped(job.trigger).inc()
            self.say(f"{job.agent}: {job.trigger} run {job.run_id[:12]} not finished: {error}")
            raise
        self._count(outcome)

    def _count(self, outcome: Outcome) -> None:
        job = outcome.job
        if outcome.started is not None:
            self.metrics.lag(job.trigger).observe(
                max(0.0, (outcome.started - job.due).total_seconds()))
        if outcome.record is None:
            self.metrics.skipped(job.trigger).inc()
            self.say(f"{job.agent}: {job.trigger} run not started: {outcome.skipped}")
            return
        record = outcome.record
        self.metrics.runs(record.status, job.trigger).inc()
        self.metrics.duration(job.trigger).observe(record.duration_ms / 1000)
        self.say(f"{job.agent}: run {record.run_id[:12]} {record.status} "
                 f"({record.attempts} attempt(s), {record.duration_ms / 1000:.2f} s)")

    # --- health ---------------------------------------------------------------------------------

    async def health(self) -> dict[str, str]:
        """What /healthz answers: the store, the queue and the scheduler, each ok or why not."""
        parts: dict[str, str] = {}
        try:
            await self.call(lambda store: store.identity)
            parts["store"] = "ok"
        except Exception as error:
            parts["store"] = str(error)
        try:
            await self.queue.check()
            parts["queue"] = "ok"
        except Exception as error:
            parts["queue"] = str(error)
        late = self.alive is None or self.now() - self.alive > timedelta(
            seconds=max(10.0, 5 * self.options.poll))
        parts["scheduler"] = "ok" if not late and not self.stopping else "not running"
        return parts
