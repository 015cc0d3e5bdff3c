"""The team server's files: what clients upload, stored once by digest (shared by every server
on the database), and the plans `deploy --plan-out` saved on the server: a group of
ControlPlane's records (SQL only here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

from flexor_iac.controlplane.records import Records, timestamp

_BATCH = 500  # digests per query (SQLite takes at most 32,766 parameters)


@dataclass(frozen=True)
class SavedPlan:
    """A plan file saved on the server by `deploy --plan-out`, applied by its id."""

    plan_id: str
    environment: str
    content: bytes
    made_by: str
    made_at: datetime


class ServerFileRecords(Records):
    """Methods ControlPlane gains for the team server's files and saved plans."""

    def _by_digest(self, column: LiteralString, digests: Iterable[str]) -> dict[str, Any]:
        """`column` of each stored file among `digests`, by digest (in batches of _BATCH)."""
        wanted = sorted(set(digests))
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start:start + _BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT digest, {column} FROM server_files "
                                    f"WHERE digest IN ({marks})", tuple(batch)).rows
            found.update((row[0], row[1]) for row in rows)
        return found

    def missing_files(self, digests: Iterable[str]) -> set[str]:
        """The digests among `digests` whose content is not stored."""
        wanted = set(digests)
        return wanted - set(self._by_digest("1", wanted))

    def store_files(self, files: Mapping[str, bytes]) -> None:
        """Keep each file's content under its digest (content stored already is kept as is)."""
        if not files:
            return
        now = timestamp()
        with self._write():
            self._db.executemany(
                "INSERT INTO server_files VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING",
                [(digest, content, now) for digest, content in files.items()])

    def file_sizes(self, digests: Iterable[str]) -> dict[str, int]:
        """The stored size in bytes of each of `digests` that is stored (contents not read)."""
        return {digest: int(size)
                for digest, size in self._by_digest("length(content)", digests).items()}

    def file_contents(self, digests: Iterable[str]) -> dict[str, bytes]:
        """The stored content of each of `digests` that is stored."""
        return {digest: bytes(content)
                for digest, content in self._by_digest("content", digests).items()}

    def save_plan(self, plan: SavedPlan) -> None:
        """Keep a saved plan."""
        with self._write():
            self._db.execute("INSERT INTO server_plans VALUES (?, ?, ?, ?, ?)",
                             (plan.plan_id, plan.environment, plan.content, plan.made_by,
                              plan.made_at.isoformat(timespec="seconds")))

    def saved_plan(self, plan_id: str) -> SavedPlan | None:
        """A saved plan by id."""
        row = self._one("SELECT plan_id, environment, content, made_by, made_at "
                        "FROM server_plans WHERE plan_id=?", plan_id)
        return SavedPlan(row[0], row[1], bytes(row[2]), row[3],
                         datetime.fromisoformat(row[4])) if row else None

    def prune_server_files(self, before: datetime) -> int:
        """Forget uploaded files stored before `before` and plans saved before it (a client
        that needs a file again uploads it again: the server asks for what it lacks)."""
        with self._write():
            found = self._db.execute(
                "SELECT (SELECT COUNT(*) FROM server_files WHERE stored_at<?) + "
                "(SELECT COUNT(*) FROM server_plans WHERE made_at<?)",
                (before.isoformat(timespec="seconds"),) * 2).rows[0][0]
            self._db.execute("DELETE FROM server_files WHERE stored_at<?",
                             (before.isoformat(timespec="seconds"),))
            self._db.execute("DELETE FROM server_plans WHERE made_at<?",
                             (before.isoformat(timespec="seconds"),))
        return int(found)
