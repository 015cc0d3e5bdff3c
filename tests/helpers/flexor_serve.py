"""`flexor serve` in-process on a simulated clock: services over a project's control plane,
driven minute by minute, their queues drained between steps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from flexor_iac.controlplane.runs import RunQuery, RunRecord
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.serve.jobs import derived_run_id
from flexor_iac.serve.process import Process, listen
from flexor_iac.serve.queues import LocalQueue, Queue
from flexor_iac.serve.service import ServeOptions, Service
from tests.helpers.project import write_agent
from tests.helpers.runtime import install
from tests.helpers.waiting import eventually, eventually_async

STAGING = Environment.STAGING
DEPLOYED_AT = datetime(2026, 5, 4, 9, 0, 30, tzinfo=UTC)  # when `deploy` activates the agents
PROBE = "  - skill: core.audit.log\n    args:\n      event: probe\n"


class SimulatedClock:
    """The time the services read; tests move it."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def scheduled(root: Path, name: str, cron: str, extra: str = "") -> None:
    """A trivial agent with a schedule trigger."""
    write_agent(root, name, PROBE, trigger=f'type: schedule\n  cron: "{cron}"{extra}')


def deploy(root: Path, at: datetime = DEPLOYED_AT) -> None:
    """What `flexor deploy --env staging` writes to the control plane, as if at `at`."""
    with clock.frozen(at):
        install(root, STAGING).close()


def service(root: Path, now: Callable[[], datetime] = clock.now, queue: Queue | None = None,
            workers: int = 2, env: Environment = STAGING, **settings: Any) -> Service:
    """A service of `env` (staging) over the project's control plane (not started)."""
    options = ServeOptions(env, workers=workers, **settings)
    return Service(ProjectPaths(root), str(locate(root)), options,
                   queue or LocalQueue(workers), now=now)


async def drain(*services: Service, timeout: float = 20.0) -> None:
    """Wait until no service has a job waiting or running."""
    async def idle() -> bool:
        return not any([await s.queue.depth() + await s.queue.running() for s in services])
    await eventually_async(idle, "queues still busy", timeout=timeout, interval=0.02)


def runs(root: Path, agent: str | None = None) -> list[RunRecord]:
    """Every staging run recorded (of one agent), newest first."""
    with ControlPlane(locate(root)) as store:
        return store.runs(RunQuery(environment="staging", agent=agent))


def tick_run(agent: str, tick: datetime) -> str:
    """The run id of an agent's scheduled tick (the same on every server)."""
    return derived_run_id("staging", agent, f"schedule/{int(tick.timestamp())}")


def scheduled_runs(root: Path) -> Counter[str]:
    """How many recorded scheduled runs each run id has."""
    return Counter(r.run_id for r in runs(root) if r.trigger_type == "schedule")


def executed(*services: Service) -> float:
    """How many runs the services' workers finished (their metrics), whatever their status."""
    return sum(sample.value for s in services for metric in s.metrics.registry.collect()
               if metric.name == "flexor_runs" for sample in metric.samples
               if sample.name == "flexor_runs_total")


@contextmanager
def listening(*servers: Service) -> Iterator[str]:
    """The services behind real HTTP (uvicorn, on a free port, in a thread): its address."""
    sock = listen("127.0.0.1", 0)
    process = Process(list(servers), sock, lambda _line: None)
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(process.run()), daemon=True)
    thread.start()

    def healthy() -> bool:
        assert thread.is_alive(), f"the server stopped before it was healthy: {outcome}"
        try:
            return httpx.get(f"{process.address}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False
    eventually(healthy, "the server did not become healthy", timeout=20)
    try:
        yield process.address
    finally:
        process.stop()
        thread.join(60)


def wait_for_run(root: Path, run_id: str, seconds: float = 20) -> RunRecord:
    """The run once it is recorded."""
    def recorded() -> RunRecord | None:
        return next((r for r in runs(root) if r.run_id == run_id), None)
    return eventually(recorded, f"run {run_id} was not recorded", timeout=seconds,
                      interval=0.1)
