"""Retention on both stores: after 60 simulated days of runs under `retention_days: 30`, the
tables hold only the last 30 days — a removed agent's runs included — and the rest stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.controlplane.access import StoredKey
from flexor_iac.controlplane.runs import LogLine, RunQuery, RunRecord
from flexor_iac.controlplane.server_files import SavedPlan
from flexor_iac.controlplane.serving import ServerRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.runtime import retention

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlPlane]:
    where = tmp_path / "control-plane.db" if request.param == "sqlite" else \
        request.getfixturevalue("team_database")
    with ControlPlane(where) as opened:
        yield opened


def _days_of_runs(store: ControlPlane, agent: str, vault: str, days: int = 60) -> None:
    for day in range(days):
        at = NOW - timedelta(days=day, hours=1)
        store.record_run(RunRecord(f"{agent}-{day:02d}", "staging", agent, "1.0", vault,
                                   "schedule", at, "success", 1, 5, True),
                         [LogLine(at, "info", f"day {day}")])


def test_sixty_days_of_runs_keep_only_the_last_thirty_removed_agents_included(
        store: ControlPlane) -> None:
    store.bind_vault("staging", "company", "sha256:x",
                     {"tier": "L2", "config": {"audit": {"retention_days": 30}}})
    for agent in ("deployed", "removed"):  # `removed` is in no deploy any more
        _days_of_runs(store, agent, "company")
    _days_of_runs(store, "elsewhere", "unbound")  # a vault no longer bound: 90 days

    pruned = retention.prune(store, NOW)

    assert pruned.runs == 2 * 30
    for agent in ("deployed", "removed"):
        kept = store.runs(RunQuery(environment="staging", agent=agent))
        assert len(kept) == 30 and min(r.trigger_at for r in kept) > NOW - timedelta(days=30)
        assert store.latest_runs("staging")[agent].run_id == f"{agent}-00"
    assert store.run_log("deployed-29") and not store.run_log("deployed-30")
    assert len(store.runs(RunQuery(environment="staging", agent="elsewhere"))) == 60
    assert not retention.prune(store, NOW)  # nothing left to prune: nothing said


def test_servers_silent_for_a_day_are_forgotten(store: ControlPlane) -> None:
    for name, beat in (("gone", NOW - timedelta(days=2)), ("alive", NOW)):
        store.register_server(ServerRecord(name, "staging", "host", 1, "", beat, beat))
    assert retention.prune(store, NOW).servers == 1
    assert [s.server_id for s in store.live_servers("staging", NOW - timedelta(days=3))] == [
        "alive"]


def test_prune_runs_goes_in_batches(store: ControlPlane) -> None:
    _days_of_runs(store, "deployed", "company", days=12)
    assert store.prune_runs("staging", "company", NOW - timedelta(days=2), batch=3) == 10
    assert len(store.runs(RunQuery(environment="staging"))) == 2


@pytest.mark.postgres
def test_the_queues_failed_jobs_and_old_defer_marks_go_after_a_day(team_database: str) -> None:
    with ControlPlane(team_database) as store:
        db = store.database

        def job(status: str, days_ago: int) -> int:
            with db.transaction():
                found = db.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
                                   "VALUES ('flexor-staging', 'run', '{\"body\": 1}') "
                                   "RETURNING id").rows[0][0]
                db.execute("UPDATE procrastinate_jobs SET status=?::procrastinate_job_status "
                           "WHERE id=?", (status, found))
                db.execute("UPDATE procrastinate_events SET at=now() - make_interval(days => ?) "
                           "WHERE job_id=?", (days_ago, found))
                db.execute("INSERT INTO procrastinate_periodic_defers (task_name, "
                           "defer_timestamp, job_id, periodic_id) VALUES ('run', ?, ?, ?)",
                           (int((NOW - timedelta(days=days_ago)).timestamp()), found,
                            f"p{found}"))
            return int(found)
        old_failure, new_failure, old_success = job("failed", 3), job("failed", 0), job("doing", 3)
        pruned = retention.prune(store, datetime.now(UTC))
        left = {row[0] for row in db.execute("SELECT id FROM procrastinate_jobs").rows}
        assert old_failure not in left and {new_failure, old_success} <= left
        assert pruned.queue >= 1


def test_uploads_and_saved_plans_go_after_thirty_days(store: ControlPlane) -> None:
    with clock.frozen(NOW - timedelta(days=31)):
        store.store_files({"a" * 64: b"old"})
        store.save_plan(SavedPlan("P-old", "staging", b"{}", "ci", clock.now()))
    with clock.frozen(NOW):
        store.store_files({"b" * 64: b"new"})
    assert retention.prune(store, NOW).uploads == 2
    assert store.missing_files(["a" * 64, "b" * 64]) == {"a" * 64}
    assert store.saved_plan("P-old") is None


def test_keys_minted_for_oidc_tokens_go_thirty_days_after_they_expired(
        store: ControlPlane) -> None:
    def key(key_id: str, maker: str, expires: datetime | None) -> StoredKey:
        return StoredKey(key_id, key_id, "oidc:1", ("read",), "argon2$hash", NOW - timedelta(
            days=90), expires, None, maker, None)
    store.add_key(key("old-ci", "trust:T-1", NOW - timedelta(days=31)))
    store.add_key(key("recent-ci", "trust:T-1", NOW - timedelta(days=29)))
    store.add_key(key("person", "olga", NOW - timedelta(days=60)))  # expired, made by a person
    store.add_key(key("forever", "olga", None))
    assert retention.prune(store, NOW).keys == 1
    kept = store.keys()
    assert sorted(k.key_id for k in kept) == ["forever", "person", "recent-ci"]
