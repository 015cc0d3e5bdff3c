"""One fired trigger (a job) and how a worker thread runs it.

A job carries its run id, made when the trigger fires: a schedule tick's and an event's run id
is derived from what fired it, so the same tick or event is the same run on every server, and
a job taken over from a server that died never records its run twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.events import PlexiFactEvent
from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import FlexorError, StateError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.runtime.executor import Executor, RunRequest
from flexor_iac.serve.schedule import MISSED_COUNTED

_RUNS = uuid.UUID("6f1c1a52-8d0e-4a8e-9a57-2f6c3b1e0d41")  # the namespace of derived run ids


@dataclass(frozen=True)
class Job:
    """A trigger that fired: which agent, how, with what event, and when it was due."""

    environment: str
    agent: str
    trigger: str  # schedule | webhook | event
    run_id: str
    due_at: str  # ISO UTC: the tick, the event's emission, the request's arrival
    inputs: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Several servers defer the same tick or event: the database keeps one (team mode).
    dedupe: tuple[str, int] | None = None

    def as_json(self) -> dict[str, Any]:
        """The job as a queue stores it."""
        return {**asdict(self), "notes": list(self.notes),
                "dedupe": list(self.dedupe) if self.dedupe else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        """A job as `as_json` stored it."""
        dedupe = data.get("dedupe")
        return cls(**{**data, "notes": tuple(data.get("notes") or ()),
                      "dedupe": (dedupe[0], int(dedupe[1])) if dedupe else None})

    @property
    def due(self) -> datetime:
        """When the trigger was due."""
        return datetime.fromisoformat(self.due_at)


def derived_run_id(environment: str, agent: str, what: str) -> str:
    """The run id of a tick or an event: the same on every server."""
    return uuid.uuid5(_RUNS, f"{environment}/{agent}/{what}").hex


def new_run_id() -> str:
    """The run id of a webhook request."""
    return uuid.uuid4().hex


def tick_job(environment: str, agent: str, tick: datetime, missed: int, late: bool) -> Job:
    """The job of a schedule tick (deduplicated by agent and tick; a late one says so)."""
    stamp = int(tick.timestamp())
    notes: tuple[str, ...] = ()
    older = (f"{'at least ' if missed >= MISSED_COUNTED else ''}{missed} older tick(s) "
             "missed while no server ran, not run")
    if late:
        notes = (f"catch-up: the tick of {tick.isoformat(timespec='minutes')} was missed "
                 f"while no server ran; run once now" + (f"; {older}" if missed else ""),)
    elif missed:
        notes = (older,)
    return Job(environment, agent, "schedule",
               derived_run_id(environment, agent, f"schedule/{stamp}"), tick.isoformat(),
               {"scheduled_for": tick.isoformat()}, notes,
               (f"{environment}/schedule/{agent}", stamp))


def event_job(environment: str, agent: str, event: PlexiFactEvent) -> Job:
    """The job of a PlexiFact event for one matching agent (deduplicated by event and agent);
    the run's event is the event's data with its name, source and id."""
    return Job(environment, agent, "event",
               derived_run_id(environment, agent, f"event/{event.id}"),
               event.emitted_at.isoformat(),
               {**event.data, "name": event.name, "source": event.source, "event_id": event.id},
               dedupe=(f"{environment}/event/{event.id}/{agent}", event.id))


@dataclass(frozen=True)
class Outcome:
    """What became of a job: its run record, or why there is none."""

    job: Job
    record: RunRecord | None = None
    skipped: str | None = None  # already run, paused, no longer deployed, not enabled
    started: datetime | None = None


class Runner:
    """Runs jobs on worker threads, each with its own connection to the control plane."""

    def __init__(self, paths: ProjectPaths, where: str,
                 executor: Callable[[ProjectPaths, ControlPlane], Executor] = Executor) -> None:
        self.paths = paths
        self.where = where
        self.make_executor = executor
        self._local = threading.local()
        self._stores: list[ControlPlane] = []
        self._lock = threading.Lock()

    def store(self) -> ControlPlane:
        """This thread's control plane."""
        store: ControlPlane | None = getattr(self._local, "store", None)
        if store is None:
            store = ControlPlane(self.where)
            self._local.store = store
            with self._lock:
                self._stores.append(store)
        return store

    def run(self, job: Job, now: Callable[[], datetime], takeover: int = 0) -> Outcome:
        """Run the job's agent once (a run already recorded under its id is not run again).

        `takeover`: how many times the job was taken over from a server that stopped.
        """
        store = self.store()
        # A webhook's run id is new with its request: only a job delivered again may have
        # run already (a tick's or an event's id is the same on every server: always looked).
        fresh = job.trigger == "webhook" and not takeover
        if not fresh and store.has_run(job.run_id):
            return Outcome(job, skipped=f"run {job.run_id} is recorded already")
        notes = job.notes
        if takeover:
            notes = (*notes, f"taken over: delivery {takeover + 1} of this job (an earlier "
                             "one did not finish: its server stopped or lost the database)")
        request = RunRequest(Environment(job.environment), job.agent, dict(job.inputs),
                             job.trigger, run_id=job.run_id, notes=notes)
        started = now()
        try:
            record = self.make_executor(self.paths, store).run(request)
        except StateError:
            raise  # the control plane failed: the job is not done (team mode retries it)
        except FlexorError as refused:  # paused, undeployed or disabled since it fired
            return Outcome(job, skipped=str(refused), started=started)
        return Outcome(job, record, started=started)

    def close(self) -> None:
        """Close every thread's connection (only once no run uses them)."""
        with self._lock:
            for store in self._stores:
                store.close()
            self._stores.clear()
