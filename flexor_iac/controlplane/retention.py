"""What the server prunes besides runs (RunRecords.prune_runs), in small batches so that no run
waits long behind it: rows of servers long gone, and on PostgreSQL the job queue's leftovers
(failed jobs with their webhook bodies, the periodic-defer marks of old ticks). A group of
ControlPlane's records (SQL only here)."""

from __future__ import annotations

from datetime import datetime

from flexor_iac.controlplane.records import Records

BATCH = 500  # rows per transaction


class RetentionRecords(Records):
    """Methods ControlPlane gains for retention."""

    def run_groups(self) -> list[tuple[str, str | None]]:
        """Each (environment, vault) that has runs."""
        rows = self._db.execute("SELECT DISTINCT environment, vault FROM runs").rows
        return [(row[0], row[1]) for row in rows]

    def prune_servers(self, before: datetime) -> int:
        """Forget servers whose last heartbeat is older than `before`."""
        with self._write():
            found = self._db.execute("SELECT COUNT(*) FROM serve_servers WHERE heartbeat_at<?",
                                     (before.isoformat(),)).rows[0][0]
            self._db.execute("DELETE FROM serve_servers WHERE heartbeat_at<?",
                             (before.isoformat(),))
        return int(found)

    def prune_queue(self, before: datetime, batch: int = BATCH) -> int:
        """PostgreSQL: delete failed, cancelled and aborted jobs (their arguments hold webhook
        bodies) whose last event is older than `before`, and the periodic-defer marks of ticks
        before it (schedule_ticks keeps each agent's newest tick: an old one is never deferred
        again); how many rows went. Nothing on the embedded store, which has no queue table."""
        if self._db.dialect != "postgresql":
            return 0
        gone = 0
        while True:
            with self._write():
                jobs = self._db.execute(
                    "SELECT j.id FROM procrastinate_jobs j WHERE j.status IN ('failed', "
                    "'cancelled', 'aborted') AND NOT EXISTS (SELECT 1 FROM procrastinate_events "
                    f"e WHERE e.job_id=j.id AND e.at>=?) LIMIT {int(batch)}", (before,)).rows
                ids = [(row[0],) for row in jobs]
                self._db.executemany("DELETE FROM procrastinate_periodic_defers WHERE job_id=?",
                                     ids)
                self._db.executemany("DELETE FROM procrastinate_events WHERE job_id=?", ids)
                self._db.executemany("DELETE FROM procrastinate_jobs WHERE id=?", ids)
                marks = self._db.execute(
                    "SELECT id FROM procrastinate_periodic_defers WHERE defer_timestamp<? "
                    f"LIMIT {int(batch)}", (int(before.timestamp()),)).rows
                self._db.executemany("DELETE FROM procrastinate_periodic_defers WHERE id=?",
                                     [(row[0],) for row in marks])
            gone += len(jobs) + len(marks)
            if len(jobs) < batch and len(marks) < batch:
                return gone
