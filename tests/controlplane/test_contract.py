"""One contract for both control-plane stores: every test runs on the embedded SQLite file and on
a real PostgreSQL (team mode), and must see the same behaviour."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.controlplane import migrate, transfer
from flexor_iac.controlplane.access import Grant, StoredKey
from flexor_iac.controlplane.database import connect
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.runs import LogLine, OutboxMessage, RunQuery, RunRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.controlplane.trust import TrustRule

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a new, empty control plane is: a SQLite file, or a PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield tmp_path / "control-plane.db"
    else:
        yield request.getfixturevalue("team_database")


@pytest.fixture
def store(where: Path | str) -> Iterator[ControlPlane]:
    with ControlPlane(where) as opened:
        yield opened


def _run(run_id: str, agent: str, at: datetime, status: str = "succeeded",
         environment: str = "staging") -> RunRecord:
    return RunRecord(run_id, environment, agent, "1.0", "company", "manual", at, status, 1, 12,
                     True, tasks_executed=["fetch"], outputs={"rows": 3}, errors=[])


def test_a_store_knows_its_kind_and_keeps_one_identity(where: Path | str) -> None:
    with ControlPlane(where) as first:
        identity = first.identity
        assert first.dialect == ("sqlite" if isinstance(where, Path) else "postgresql")
    with ControlPlane(where) as again:
        assert again.identity == identity
        assert len(identity) == 32


def test_environments_are_registered_updated_and_forgotten(store: ControlPlane) -> None:
    store.register_environment("staging", {"tier": "L4"})
    store.register_environment("staging", {"tier": "L3"})
    assert store.environment("staging") == {"tier": "L3"}
    store.forget_environment("staging")
    assert store.environment("staging") is None


def test_the_newest_snapshot_wins_and_republishing_it_is_a_no_op(store: ControlPlane) -> None:
    assert not store.has_snapshots()
    assert store.publish_snapshot("sha256:a", "company", ["vault.json"], T0.isoformat())
    assert store.publish_snapshot("sha256:b", "company", ["vault.json", "skills/x.yaml"])
    assert not store.publish_snapshot("sha256:b", "company", ["vault.json"])
    newest = store.newest_snapshot("company")
    assert newest is not None and newest.digest == "sha256:b"
    assert newest.files == ("vault.json", "skills/x.yaml")
    assert store.snapshot_time("company", "sha256:a") == T0
    assert store.newest_snapshot("other") is None


def test_a_snapshots_files_are_kept_once_byte_for_byte(store: ControlPlane) -> None:
    content = {"vault.json": b'{"name": "company"}', "skills/x.yaml": bytes(range(256))}
    assert store.publish_snapshot("sha256:a", "company", list(content), content=content)
    assert store.publish_snapshot("sha256:b", "company", [], content={})
    assert store.publish_snapshot("sha256:a", "company", list(content), content=content)
    assert store.snapshot_content("sha256:a") == content
    assert store.snapshot_content("sha256:unknown") is None


def test_bindings_replace_each_other_per_environment_and_vault(store: ControlPlane) -> None:
    store.bind_vault("staging", "company", "sha256:a", {"tier": "L4"})
    store.bind_vault("staging", "company", "sha256:b", {"tier": "L4", "values": {"x": 1}})
    store.bind_vault("production", "company", "sha256:a", {"tier": "L4"})
    assert [(b.vault, b.digest) for b in store.bindings("staging")] == [("company", "sha256:b")]
    assert store.binding_spec("staging", "company") == {"tier": "L4", "values": {"x": 1}}
    assert store.binding_digest("production", "company") == "sha256:a"
    store.unbind_vault("staging", "company")
    assert store.bindings("staging") == []


def test_agents_are_activated_paused_and_deactivated(store: ControlPlane) -> None:
    store.activate_agent("staging", "feed", "1.0", {"name": "feed"}, "sha256:1")
    store.activate_agent("staging", "feed", "1.1", {"name": "feed"}, "sha256:2")
    store.activate_agent("staging", "audit", "2.0", {}, "sha256:3")
    store.activate_agent("staging", "feedback", "1.0", {}, "sha256:4")
    store.activate_agent("staging", "feed-monitor", "1.0", {}, "sha256:5")
    assert [(a.name, a.version) for a in store.active_agents("staging")] == [  # bytewise
        ("audit", "2.0"), ("feed", "1.1"), ("feed-monitor", "1.0"), ("feedback", "1.0")]
    store.set_paused("staging", "feed", True)
    feed = store.active_agent("staging", "feed")
    assert feed is not None and feed.paused and feed.digest == "sha256:2"
    store.deactivate_agent("staging", "feed")
    assert store.active_agent("staging", "feed") is None
    assert store.active_agents("production") == []


def test_notes_are_kept_replaced_and_removed_apart_from_the_identity(
        store: ControlPlane) -> None:
    identity = store.identity
    store.set_note("identity", "first")
    store.set_note("identity", "second")
    assert store.note("identity") == "second"
    assert store.note("other") is None
    assert store.identity == identity
    store.set_note("identity", None)
    assert store.note("identity") is None


def test_runs_are_read_newest_first_with_their_logs_and_filters(store: ControlPlane) -> None:
    for number in range(5):
        status = "failed" if number == 3 else "succeeded"
        store.record_run(_run(f"r{number}", "feed", T0 + timedelta(minutes=number), status),
                         [LogLine(T0, "info", f"line {number}"), LogLine(T0, "error", "x")])
    store.record_run(_run("same-time", "feed", T0 + timedelta(minutes=4)), [])
    store.record_run(_run("other", "audit", T0, environment="production"), [])
    assert [r.run_id for r in store.runs(RunQuery(environment="staging", limit=3))] == [
        "same-time", "r4", "r3"]  # a tie goes to the later insert
    assert [r.run_id for r in store.runs(RunQuery(statuses=["failed"]))] == ["r3"]
    assert [r.run_id for r in store.runs(RunQuery(
        since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)))] == ["r2", "r1"]
    assert [r.run_id for r in store.runs(RunQuery(environments=["production"]))] == ["other"]
    latest = store.latest_runs("staging")
    assert {agent: run.run_id for agent, run in latest.items()} == {"feed": "same-time"}
    assert latest["feed"].outputs == {"rows": 3} and latest["feed"].trigger_at.tzinfo
    assert [line.message for line in store.run_log("r2")] == ["line 2", "x"]


def test_old_runs_are_purged_with_their_logs_and_messages(store: ControlPlane) -> None:
    store.record_run(_run("old", "feed", T0), [LogLine(T0, "info", "old")])
    store.record_run(_run("new", "feed", T0 + timedelta(days=9)), [])
    store.add_to_outbox(OutboxMessage("staging", "old", "feed", "slack", "#ops",
                                      {"text": "50% done"}, "sent", T0))
    assert store.purge_runs("staging", "feed", T0 + timedelta(days=1)) == 1
    assert [r.run_id for r in store.runs(RunQuery())] == ["new"]
    assert store.run_log("old") == [] and store.outbox() == []
    store.record_run(_run("late-but-older", "feed", T0 + timedelta(days=2)), [])
    assert store.latest_runs("staging")["feed"].run_id == "new"  # recorded later, ran earlier
    assert store.purge_runs("staging", "feed", T0 + timedelta(days=5)) == 1
    assert store.latest_runs("staging")["feed"].run_id == "new"
    assert store.purge_runs("staging", "feed", T0 + timedelta(days=30)) == 1
    assert store.latest_runs("staging") == {}


def test_a_run_recorded_with_retention_purges_the_older_runs_in_the_same_write(
        store: ControlPlane) -> None:
    store.record_run(_run("old", "feed", T0), [LogLine(T0, "info", "old")])
    store.record_run(_run("other", "news", T0), [])
    store.add_to_outbox(OutboxMessage("staging", "old", "feed", "slack", "#ops", {}, "sent", T0))
    later = T0 + timedelta(days=9)
    store.record_run(_run("new", "feed", later), [LogLine(later, "info", f"line {n}")
                                                  for n in range(3)], later - timedelta(days=1))
    assert [r.run_id for r in store.runs(RunQuery())] == ["new", "other"]  # only feed's aged
    assert store.run_log("old") == [] and store.outbox() == []
    assert [line.message for line in store.run_log("new")] == ["line 0", "line 1", "line 2"]
    # A cutoff past the run itself never takes the agent's latest run.
    store.record_run(_run("older", "feed", T0 + timedelta(days=5)), [], later + timedelta(days=1))
    assert [r.run_id for r in store.runs(RunQuery(agent="feed"))] == ["new", "older"]
    assert store.latest_runs("staging")["feed"].run_id == "new"


def test_a_batched_write_that_fails_leaves_nothing_behind(where: Path | str) -> None:
    with ControlPlane(where) as store:
        store.record_run(_run("first", "feed", T0), [])
        with pytest.raises(Exception, match=r"(?i)unique"):  # the run id is taken
            store.record_run(_run("first", "news", T0 + timedelta(days=1)),
                             [LogLine(T0, "info", "lost")], T0 + timedelta(days=1))
        assert [r.run_id for r in store.runs(RunQuery())] == ["first"]  # not purged either
        assert store.latest_runs("staging").keys() == {"feed"}


def test_ticks_taken_are_recorded_together_and_never_move_back(store: ControlPlane) -> None:
    store.advance_ticks("staging", {"a": T0, "b": T0 + timedelta(minutes=1)})
    store.advance_ticks("staging", {"a": T0 - timedelta(minutes=5), "c": T0})
    assert store.schedule_ticks("staging") == {"a": T0, "b": T0 + timedelta(minutes=1), "c": T0}
    assert store.schedule_ticks("production") == {}


def test_the_outbox_keeps_messages_in_order_per_environment(store: ControlPlane) -> None:
    for number, environment in enumerate(("staging", "production", "staging")):
        store.add_to_outbox(OutboxMessage(environment, None, "feed", "webhook", "hook",
                                          {"n": number, "text": "100% ?"}, "sent", T0))
    assert [m.message["n"] for m in store.outbox("staging")] == [0, 2]
    assert [m.message["text"] for m in store.outbox()] == ["100% ?"] * 3


def test_keys_are_stored_as_hashes_and_revoked_once(store: ControlPlane) -> None:
    assert not store.has_keys()
    store.add_key(StoredKey("k1", "ci", "ci-bot", ("deploy:staging",), "argon2$hash", T0,
                            T0 + timedelta(days=30), None, "olga", "olga"))
    key = store.key("k1")
    assert key is not None and key.user == "ci-bot" and key.acts_as == "olga"
    assert key.scopes == ("deploy:staging",) and key.expires_at == T0 + timedelta(days=30)
    assert store.revoke_key("k1", T0) and not store.revoke_key("k1", T0)
    stored = store.keys()
    assert [k.revoked_at for k in stored] == [T0]


def test_trust_rules_are_kept_by_issuer_and_removing_one_revokes_its_keys(
        store: ControlPlane) -> None:
    claims = {"repository_id": "74", "environment": "production"}
    for number, issuer in enumerate(("https://token.actions.githubusercontent.com",
                                     "https://gitlab.example.com", "https://token.actions."
                                     "githubusercontent.com")):
        store.add_trust_rule(TrustRule(f"T-{number}", issuer, "flexor", claims,
                                       ("deploy:staging", "read"), "oidc:74", "olga",
                                       T0 + timedelta(minutes=number)))
    assert [r.rule_id for r in store.trust_rules()] == ["T-0", "T-1", "T-2"]
    github = store.trust_rules("https://token.actions.githubusercontent.com")
    assert [r.rule_id for r in github] == ["T-0", "T-2"]
    rule = store.trust_rule("T-0")
    assert rule is not None and rule.claims == claims and rule.maker == "trust:T-0"
    assert (rule.scopes, rule.user, rule.created_at) == (("deploy:staging", "read"), "oidc:74",
                                                         T0)
    for key_id, maker in (("k1", "trust:T-0"), ("k2", "trust:T-0"), ("k3", "trust:T-1")):
        store.add_key(StoredKey(key_id, "oidc", "oidc:74", ("read",), "argon2$hash", T0,
                                T0 + timedelta(minutes=15), None, maker, None))
    store.revoke_key("k2", T0)
    assert store.remove_trust_rule("T-0", T0 + timedelta(minutes=1)) == 1
    assert store.remove_trust_rule("T-0", T0) is None and store.trust_rule("T-0") is None
    stored = store.keys()
    assert [(k.key_id, k.revoked_at) for k in stored] == [
        ("k1", T0 + timedelta(minutes=1)), ("k2", T0), ("k3", None)]


def test_grants_replace_the_role_a_user_had_on_a_vault(store: ControlPlane) -> None:
    store.grant(Grant("user", "company", "viewer", T0, "olga"))
    store.grant(Grant("user", "company", "deployer", T0, "olga"))
    store.grant(Grant("bob", "*", "admin", T0, "olga"))
    assert [(g.user, g.vault, g.role) for g in store.grants()] == [
        ("bob", "*", "admin"), ("user", "company", "deployer")]
    assert store.revoke_grant("user", "company") and not store.revoke_grant("user", "company")
    assert [g.user for g in store.grants("bob")] == ["bob"]


def test_requests_go_from_pending_to_approved_to_applied(store: ControlPlane) -> None:
    store.add_request(DeploymentRequest("req1", "production", {"agents": ["feed"]}, "sha256:p",
                                        "alice", T0, "pending"))
    store.mark_request_applied("req1", T0)  # not approved yet: nothing happens
    assert store.request("req1").status == "pending"  # type: ignore[union-attr]
    store.approve_request("req1", "olga", T0 + timedelta(hours=1))
    store.mark_request_applied("req1", T0 + timedelta(hours=2))
    applied = store.request("req1")
    assert applied is not None and applied.status == "applied"
    assert applied.approved_by == "olga" and applied.applied_at == T0 + timedelta(hours=2)
    assert [r.request_id for r in store.requests()] == ["req1"]


def test_a_request_is_claimed_once_per_attempt_and_says_how_it_ended(
        store: ControlPlane) -> None:
    store.add_request(DeploymentRequest("req2", "production", {"vaults": []}, "sha256:p",
                                        "alice", T0, "pending"))
    pending = store.request("req2")
    assert pending is not None and not store.claim_request(pending, T0, "x")  # not approved
    store.approve_request("req2", "olga", T0 + timedelta(hours=49))
    seen = store.request("req2")
    assert seen is not None and seen.attempt is None
    assert store.claim_request(seen, T0 + timedelta(hours=50), "applying for olga")
    assert not store.claim_request(seen, T0 + timedelta(hours=50), "a second server")
    store.record_attempt("req2", "stale", "the plan differs")
    stale = store.request("req2")
    assert stale is not None and (stale.attempt, stale.note, stale.status) == (
        "stale", "the plan differs", "approved")
    assert stale.attempted_at == T0 + timedelta(hours=50)
    store.approve_request("req2", "bob", T0 + timedelta(hours=51))  # handed back to the server
    again = store.request("req2")
    assert again is not None and (again.approved_by, again.attempt, again.note,
                                  again.attempted_at) == ("bob", None, None, None)
    assert store.claim_request(again, T0 + timedelta(hours=52), "applying for bob")
    store.record_attempt("req2", "failed", "the engine failed")
    store.approve_request("req2", "carl", T0 + timedelta(hours=53))  # failed: not re-approved
    assert store.request("req2").approved_by == "bob"  # type: ignore[union-attr]


def test_protections_are_recorded_and_replaced(store: ControlPlane) -> None:
    store.record_protection("production", {"require_api_key": True}, T0, "olga")
    store.record_protection("production", {"require_api_key": True, "managed": True}, T0, "olga")
    assert store.protection("production") == {"managed": True, "require_api_key": True}
    assert store.protection("staging") is None
    assert not store.unprotected("production") and store.unprotected("staging")
    store.add_key(StoredKey("k1", "ci", "ci-bot", ("run:staging",), "argon2$hash", T0, None,
                            None, "olga", "olga"))
    assert not store.unprotected("staging")  # a key anywhere: access control is on


def test_events_are_numbered_in_order_and_read_after_an_id_per_environment(
        store: ControlPlane) -> None:
    assert store.newest_event("staging") == 0 and store.events_after("staging", 0, 10) == []
    first = store.record_event("staging", "fund.positions.updated", "plexifact",
                               {"fund_id": "GLOBAL-EQ-1", "rows": 3}, T0.isoformat(), "olga")
    other = store.record_event("production", "fund.positions.updated", "plexifact", {},
                               T0.isoformat(), "olga")
    second = store.record_event("staging", "feed.refreshed", "custodian", {"feed": "fx"},
                                (T0 + timedelta(minutes=1)).isoformat(), "ci")
    assert first < other < second
    assert store.newest_event("staging") == second and store.newest_event("production") == other
    events = store.events_after("staging", 0, 10)
    assert [event.id for event in events] == [first, second]
    assert events[0].data == {"fund_id": "GLOBAL-EQ-1", "rows": 3}
    assert (events[1].environment, events[1].name, events[1].source, events[1].emitted_by) == (
        "staging", "feed.refreshed", "custodian", "ci")
    assert events[1].emitted_at == T0 + timedelta(minutes=1)
    assert [event.id for event in store.events_after("staging", first, 10)] == [second]
    assert [event.id for event in store.events_after("staging", 0, 1)] == [first]
    assert store.events_after("staging", second, 10) == []
    assert store.events_after("sandbox", 0, 10) == [] and store.newest_event("sandbox") == 0


def test_events_moved_from_an_embedded_store_keep_their_ids_and_new_ones_follow(
        where: Path | str, tmp_path: Path) -> None:
    with ControlPlane(tmp_path / "embedded.db") as embedded:
        for number in range(3):
            embedded.record_event("staging", "fund.positions.updated", "plexifact",
                                  {"n": number}, T0.isoformat(), "olga")
        moved = transfer.export(embedded)
    with ControlPlane(where) as target:
        transfer.load(target, moved)
        assert [event.data for event in target.events_after("staging", 0, 10)] == [
            {"n": 0}, {"n": 1}, {"n": 2}]
        assert target.newest_event("staging") == 3
        assert target.record_event("staging", "fund.positions.updated", "plexifact", {},
                                   T0.isoformat(), "olga") == 4


def test_a_write_that_fails_midway_leaves_nothing_behind(where: Path | str) -> None:
    with ControlPlane(where):  # the schema
        pass
    database = connect(where)
    try:
        with pytest.raises(RuntimeError), database.transaction():
            database.execute("INSERT INTO environments VALUES (?, ?, ?)", ("staging", "{}", "t"))
            raise RuntimeError("the second statement failed")
        assert database.execute("SELECT name FROM environments").rows == []
    finally:
        database.close()


def test_a_question_mark_in_a_literal_or_a_comment_is_not_a_placeholder(
        where: Path | str) -> None:
    database = connect(where)
    try:
        rows = database.execute("SELECT 'why?', ? /* a comment? */, 'it''s 100%' -- done?\n",
                                (7,)).rows
        assert [tuple(row) for row in rows] == [("why?", 7, "it's 100%")]
    finally:
        database.close()


def _publish_many(where: Path | str, worker: int) -> None:
    with ControlPlane(where) as store:
        for number in range(20):
            store.publish_snapshot(f"sha256:{worker}-{number}", "company", [])
            store.record_run(_run(f"w{worker}-{number}", "feed", T0), [])


@pytest.mark.engine
def test_processes_opening_and_writing_one_new_store_at_once_lose_nothing(
        where: Path | str) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_publish_many, args=(where, n)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    with ControlPlane(where) as store:
        assert len(store.runs(RunQuery())) == 60


def test_a_new_control_plane_has_exactly_the_tables_its_schema_is_checked_for(
        store: ControlPlane) -> None:
    """Opening checks that no table of migrate.TABLES is missing; the revisions make them."""
    if store.dialect == "postgresql":
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema=current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type='table' AND name != 'sqlite_sequence'"
    made = {row[0] for row in store.database.execute(sql)}
    procrastinate = {name for name in made if name.startswith("procrastinate_")}
    assert made - procrastinate == migrate.TABLES
