"""Run records (= audit entries), their log lines and the notification outbox.

A group of ControlPlane's records: the SQL for the runtime's tables lives here, next to nothing
else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.database import Statement
from flexor_iac.controlplane.records import Records


@dataclass(frozen=True)
class LogLine:
    """One log line of a run."""

    at: datetime
    level: str
    message: str


@dataclass(frozen=True)
class RunRecord:
    """One agent run: the audit entry of product.md §5 plus where and what ran."""

    run_id: str
    environment: str
    agent: str
    version: str
    vault: str | None
    trigger_type: str
    trigger_at: datetime
    status: str
    attempts: int
    duration_ms: int
    audited: bool
    tasks_executed: list[str] = field(default_factory=list)
    outputs: Any = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    inputs: Any = None

    def audit_entry(self) -> dict[str, Any]:
        """The documented audit fields (JSON-ready), in their documented order."""
        entry: dict[str, Any] = {
            "run_id": self.run_id, "agent_name": self.agent, "environment": self.environment,
            "version": self.version, "trigger_type": self.trigger_type,
            "trigger_at": self.trigger_at.isoformat(), "tasks_executed": self.tasks_executed,
            "outputs": self.outputs, "decisions": self.decisions,
            "duration_ms": self.duration_ms, "status": self.status, "errors": self.errors,
            "attempts": self.attempts}
        if self.inputs is not None:
            entry["inputs"] = self.inputs
        return entry


@dataclass(frozen=True)
class OutboxMessage:
    """A notification as sent (or attempted): the target is the reference, never a secret."""

    environment: str
    run_id: str | None
    agent: str
    channel: str
    target: str
    message: dict[str, Any]
    delivery: str
    created_at: datetime


@dataclass(frozen=True)
class RunQuery:
    """Which runs to read, newest first."""

    environment: str | None = None
    agent: str | None = None
    statuses: Sequence[str] = ()
    run_id: str | None = None  # that run alone
    environments: Sequence[str] | None = None  # only these (None: all)
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    audited_only: bool = False


_DETAIL_FIELDS = ("tasks_executed", "outputs", "decisions", "errors", "inputs")
_RUN_COLUMNS = ("run_id, environment, agent, version, vault, trigger_type, trigger_at, status, "
                "attempts, duration_ms, audited, entry")


def _run(row: Any) -> RunRecord:
    detail = json.loads(row[11])
    return RunRecord(row[0], row[1], row[2], row[3], row[4], row[5],
                     datetime.fromisoformat(row[6]), row[7], row[8], row[9], bool(row[10]),
                     **{k: detail.get(k) for k in _DETAIL_FIELDS if k in detail})


def agent_state(paused: bool, latest: RunRecord | None) -> str:
    """An agent's state: `paused`, `erroring` (its most recent run failed, retries exhausted)
    or `active`."""
    if paused:
        return "paused"
    if latest is not None and latest.status == "failed":
        return "erroring"
    return "active"


class RunRecords(Records):
    """Methods ControlPlane gains for the runtime (uses its connection and transactions)."""

    def record_run(self, run: RunRecord, lines: Sequence[LogLine],
                   purge_before: datetime | None = None) -> None:
        """Store a finished run and its log lines; it becomes its agent's latest run unless a
        later one is recorded (a tie goes to the one recorded last). `purge_before`: the
        agent's runs older than that go (retention). One transaction, sent at once."""
        detail = {k: getattr(run, k) for k in _DETAIL_FIELDS}
        at = run.trigger_at.isoformat()
        statements = [
            Statement(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                      "?, ?)", (run.run_id, run.environment, run.agent, run.version, run.vault,
                                run.trigger_type, at, run.status, run.attempts,
                                run.duration_ms, int(run.audited),
                                json.dumps(detail, default=str))),
            Statement("INSERT INTO run_logs VALUES (?, ?, ?, ?, ?)",
                      [(run.run_id, seq, line.at.isoformat(), line.level, line.message)
                       for seq, line in enumerate(lines)], many=True),
            Statement("INSERT INTO latest_runs VALUES (?, ?, ?, ?) ON CONFLICT (environment, "
                      "agent) DO UPDATE SET run_id=excluded.run_id, trigger_at=excluded."
                      "trigger_at WHERE excluded.trigger_at >= latest_runs.trigger_at",
                      (run.environment, run.agent, run.run_id, at))]
        if purge_before is not None:
            # Older than this run: the agent's latest run (this one or a later one) stays.
            old = ("SELECT run_id FROM runs WHERE environment=? AND agent=? AND trigger_at<?")
            args = (run.environment, run.agent, min(purge_before, run.trigger_at).isoformat())
            statements += [Statement(f"DELETE FROM {table} WHERE run_id IN ({old})", args)
                           for table in ("run_logs", "outbox")]
            statements.append(Statement(f"DELETE FROM runs WHERE run_id IN ({old})", args))
        self._db.write(statements)

    def runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching `query`, newest first."""
        where, args = ["1=1"], []
        for column, value in (("environment", query.environment), ("agent", query.agent),
                              ("run_id", query.run_id)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if query.environments is not None:
            where.append(f"environment IN ({','.join('?' * len(query.environments))})")
            args.extend(query.environments)
        if query.statuses:
            where.append(f"status IN ({','.join('?' * len(query.statuses))})")
            args.extend(query.statuses)
        if query.since is not None:
            where.append("trigger_at>=?")
            args.append(query.since.isoformat())
        if query.until is not None:
            where.append("trigger_at<?")
            args.append(query.until.isoformat())
        if query.audited_only:
            where.append("audited=1")
        sql = (f"SELECT {_RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)} "
               "ORDER BY trigger_at DESC, rowid DESC")
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit)}"
        return [_run(row) for row in self._db.execute(sql, args)]

    def latest_runs(self, environment: str) -> dict[str, RunRecord]:
        """Each agent's most recent run in the environment."""
        columns = ", ".join(f"r.{name}" for name in _RUN_COLUMNS.split(", "))
        rows = self._db.execute(f"SELECT {columns} FROM latest_runs l JOIN runs r ON "
                                "r.run_id = l.run_id WHERE l.environment=?", (environment,))
        return {run.agent: run for run in map(_run, rows)}

    def run_log(self, run_id: str) -> list[LogLine]:
        """A run's log lines, in order."""
        rows = self._db.execute("SELECT at, level, message FROM run_logs WHERE run_id=? "
                                "ORDER BY seq", (run_id,))
        return [LogLine(datetime.fromisoformat(r[0]), r[1], r[2]) for r in rows]

    def purge_runs(self, environment: str, agent: str, before: datetime) -> int:
        """Delete an agent's runs (with their log lines and messages) older than `before`."""
        with self._write():
            old = [r[0] for r in self._db.execute(
                "SELECT run_id FROM runs WHERE environment=? AND agent=? AND trigger_at<?",
                (environment, agent, before.isoformat()))]
            self._delete_runs(old)
            if old:
                self._renew_latest(environment, agent)
        return len(old)

    def prune_runs(self, environment: str, vault: str | None, before: datetime,
                   batch: int = 500) -> int:
        """Delete the runs of `vault` in `environment` (with their log lines and messages)
        that started before `before`, `batch` per transaction so no run waits long behind
        it (retention, runtime/retention.py); how many went."""
        gone = 0
        where = "environment=? AND vault IS NULL" if vault is None else "environment=? AND vault=?"
        args: tuple[str, ...] = (environment,) if vault is None else (environment, vault)
        while True:
            with self._write():
                old = self._db.execute(
                    f"SELECT run_id, agent FROM runs WHERE {where} AND trigger_at<? "
                    f"ORDER BY trigger_at LIMIT {int(batch)}", (*args, before.isoformat())).rows
                self._delete_runs([row[0] for row in old])
                for agent in sorted({row[1] for row in old}):
                    self._renew_latest(environment, agent)
            gone += len(old)
            if len(old) < batch:
                return gone

    def _delete_runs(self, run_ids: Sequence[str]) -> None:
        for table in ("run_logs", "outbox", "runs"):
            self._db.executemany(f"DELETE FROM {table} WHERE run_id=?",
                                 [(run_id,) for run_id in run_ids])

    def _renew_latest(self, environment: str, agent: str) -> None:
        """After deleting runs: the agent's latest run is the newest one left, if any."""
        self._db.execute("DELETE FROM latest_runs WHERE environment=? AND agent=?",
                         (environment, agent))
        self._db.execute(
            "INSERT INTO latest_runs SELECT environment, agent, run_id, trigger_at FROM runs "
            "WHERE environment=? AND agent=? ORDER BY trigger_at DESC, rowid DESC LIMIT 1",
            (environment, agent))

    def add_to_outbox(self, message: OutboxMessage) -> None:
        """Record a notification (sent or not) in the outbox."""
        with self._write():
            self._db.execute(
                "INSERT INTO outbox (environment, run_id, agent, channel, target, message, "
                "delivery, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (message.environment, message.run_id, message.agent, message.channel,
                 message.target, json.dumps(message.message, default=str), message.delivery,
                 message.created_at.isoformat()))

    def outbox(self, environment: str | None = None) -> list[OutboxMessage]:
        """Outbox messages, oldest first."""
        sql = ("SELECT environment, run_id, agent, channel, target, message, delivery, "
               "created_at FROM outbox")
        rows = (self._db.execute(sql + " WHERE environment=? ORDER BY id", (environment,))
                if environment else self._db.execute(sql + " ORDER BY id"))
        return [OutboxMessage(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6],
                              datetime.fromisoformat(r[7])) for r in rows]
