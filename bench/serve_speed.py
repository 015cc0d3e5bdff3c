"""`flexor serve`: webhook-triggered runs per second on one server and on three, and trigger lag
at 500 scheduled agents.

Every agent is trivial (one `core.audit.log` task) and installed into the control plane the
way the providers write it (the deploy is not what is measured). Servers run in this process
behind real HTTP (uvicorn, each in a thread of its own), 4 workers each.

  webhooks:  300 POSTs, 16 at a time, spread over the servers; from the first POST to the
             last run recorded -> runs per second. Embedded store (one server) and team mode
             on PostgreSQL (a server the benchmark starts) with one and with three servers.
  lag:       500 agents on `* * * * *`; the server's clock is the real one shifted so that a
             minute starts 2 s after it does; every run's start minus its tick -> p50, p99.
             Embedded (one server) and team mode (three servers).
No goal is set: the numbers are for reading (docs/decisions/015-serve.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from flexor_iac.controlplane.database import connect
from flexor_iac.controlplane.store import locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.serve.jobs import Job
from flexor_iac.serve.queues import LocalQueue, Queue
from flexor_iac.serve.service import ServeOptions, Service
from tests.helpers.flexor_serve import listening
from tests.helpers.postgres import Server
from tests.helpers.runtime import install

REPO = Path(__file__).resolve().parents[1]
STAGING = Environment.STAGING
WEBHOOKS = 300
CONCURRENCY = 16
SCHEDULED = 500
WORKERS = 4


def make_project(root: Path, trigger: str, count: int,
                 deployed_at: datetime | None = None, event: str = "bench") -> None:
    """The example project's vaults and stacks with `count` trivial agents, installed (as if
    deployed at `deployed_at`, default a few seconds ago); their task logs `event`."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "vaults", root / "vaults")
    for stack in REPO.glob("Pulumi*.yaml"):
        shutil.copy(stack, root / stack.name)
    (root / "agents").mkdir()
    for index in range(count):
        (root / "agents" / f"agent-{index:03d}.yaml").write_text(
            f'name: agent-{index:03d}\nversion: "1.0"\ndescription: "Bench."\nowner: ops\n'
            f"vault: company\nenvironment: staging\ntrigger:\n  {trigger}\n"
            f"tasks:\n  - skill: core.audit.log\n    args:\n      event: {event}\n")
    with clock.frozen(deployed_at or datetime.now(UTC) - timedelta(seconds=5)):
        install(root, STAGING).close()


def make_service(root: Path, queue: Queue, now: Callable[[], datetime] = clock.now) -> Service:
    return Service(ProjectPaths(root), str(locate(root)), ServeOptions(STAGING, workers=WORKERS),
                   queue, now=now)


def make_queue(url: str | None) -> Queue:
    if url is None:
        return LocalQueue(WORKERS)
    from flexor_iac.serve.team_queue import TeamQueue

    return TeamQueue(url, "staging", WORKERS)


def wait_recorded(root: Path, count: int, timeout: float = 600) -> None:
    """Wait until `count` runs are recorded: a count every 0.1 s on one connection (the
    poller shares the servers' interpreter; it should take as little of it as it can)."""
    deadline = time.monotonic() + timeout
    with closing(connect(locate(root))) as database:
        def counted() -> int:
            rows = database.execute("SELECT count(*) FROM runs WHERE environment = 'staging'")
            return int(rows.fetchone()[0])
        while counted() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {counted()} of {count} runs were recorded")
            time.sleep(0.1)


async def post_all(addresses: list[str]) -> None:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=60) as client:
        async def one(index: int) -> None:
            async with limit:
                answer = await client.post(
                    f"{addresses[index % len(addresses)]}/hooks/agent-{index % 10:03d}",
                    json={"n": index})
                if answer.status_code != 202:
                    raise SystemExit(f"webhook answered {answer.status_code}: {answer.text}")
        await asyncio.gather(*(one(i) for i in range(WEBHOOKS)))


def webhooks(root: Path, url: str | None, servers: int, event: str = "bench") -> float:
    """Runs per second of WEBHOOKS webhook POSTs over `servers` servers (each task logs
    `event`)."""
    make_project(root, "type: webhook", 10, event=event)
    with ExitStack() as stack:
        addresses = [stack.enter_context(listening(make_service(root, make_queue(url))))
                     for _ in range(servers)]
        start = time.perf_counter()
        asyncio.run(post_all(addresses))
        wait_recorded(root, WEBHOOKS)
        return WEBHOOKS / (time.perf_counter() - start)


def due_next_minute(root: Path, url: str | None, servers: int, count: int,
                    watch: Callable[[Job, Callable[[], None], Callable[[], datetime]], None],
                    ) -> list[Service]:
    """`count` agents on `* * * * *` and `servers` services whose clock is the real one shifted
    so that a minute starts 2 s from now; each job is run through `watch(job, run, clock)`
    (`run()` runs it and returns once it is recorded; `clock()` is the services' time)."""
    boundary = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    make_project(root, 'type: schedule\n  cron: "* * * * *"', count,
                 boundary - timedelta(seconds=30))
    offset = boundary - timedelta(seconds=2) - datetime.now(UTC)

    def shifted() -> datetime:
        return datetime.now(UTC) + offset

    made = [make_service(root, make_queue(url), shifted) for _ in range(servers)]
    for service in made:
        handle = service.handle

        def timed(job: Job, takeover: int, handle: Callable[[Job, int], None] = handle) -> None:
            watch(job, lambda: handle(job, takeover), shifted)
        service.handle = timed  # type: ignore[method-assign]
    return made


def lag(root: Path, url: str | None, servers: int) -> tuple[float, float]:
    """p50 and p99 seconds from a tick to its run's start, SCHEDULED agents on one minute."""
    lags: list[float] = []

    def watch(job: Job, run: Callable[[], None], clock: Callable[[], datetime]) -> None:
        lags.append((clock() - job.due).total_seconds())
        run()

    made = due_next_minute(root, url, servers, SCHEDULED, watch)
    with ExitStack() as stack:
        for service in made:
            stack.enter_context(listening(service))
        wait_recorded(root, SCHEDULED, timeout=300)
    lags.sort()
    return statistics.median(lags), lags[min(len(lags) - 1, int(len(lags) * 0.99))]


def main() -> int:
    """Measure and print the two tables."""
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        os.environ.pop("FLEXOR_DATABASE_URL", None)
        rates = {"embedded, 1 server": webhooks(base / "hooks-embedded", None, 1)}
        lags = {"embedded, 1 server": lag(base / "lag-embedded", None, 1)}
        server = Server(base / "postgres")
        try:
            for servers in (1, 3):
                with server.database() as url:
                    os.environ["FLEXOR_DATABASE_URL"] = url
                    rates[f"team, {servers} server(s)"] = webhooks(
                        base / f"hooks-team-{servers}", url, servers)
            with server.database() as url:
                os.environ["FLEXOR_DATABASE_URL"] = url
                lags["team, 3 servers"] = lag(base / "lag-team", url, 3)
        finally:
            os.environ.pop("FLEXOR_DATABASE_URL", None)
            server.stop()
    print(f"webhook-triggered runs per second ({WEBHOOKS} POSTs, {CONCURRENCY} at a time, "
          f"{WORKERS} workers per server)")
    for name, rate in rates.items():
        print(f"  {name:<22} {rate:7.1f} runs/s")
    print(f"trigger lag, {SCHEDULED} agents due on the same minute")
    for name, (p50, p99) in lags.items():
        print(f"  {name:<22} p50 {p50:6.2f} s   p99 {p99:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
