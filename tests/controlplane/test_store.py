"""The control plane's schema: new databases and old ones are brought to the current version."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from flexor_iac.controlplane.migrate import HEAD as SCHEMA_VERSION
from flexor_iac.controlplane.runs import RunQuery
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import StateError
from tests.helpers.cli import flexor_main
from tests.helpers.legacy_schema import MIGRATIONS, statements


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])


def test_a_new_database_gets_the_current_schema(tmp_path: Path) -> None:
    with ControlPlane(tmp_path / "cp.db") as store:
        assert store.runs(RunQuery()) == []
    assert _version(tmp_path / "cp.db") == SCHEMA_VERSION


def test_a_schema_1_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    with sqlite3.connect(path) as db:
        for statement in statements(MIGRATIONS[0]):
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute("INSERT INTO agents VALUES ('staging', 'a', '1.0', '{}', 'sha256:x', "
                   "'2026-01-01T00:00:00+00:00')")
    with ControlPlane(path) as store:
        assert [a.name for a in store.active_agents("staging")] == ["a"]
        assert store.latest_runs("staging") == {}
    assert _version(path) == SCHEMA_VERSION


def test_stores_opening_one_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            ControlPlane(path).close()
        except BaseException as error:  # a second CREATE TABLE would fail here
            failures.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert _version(path) == SCHEMA_VERSION


def test_keys_made_before_schema_6_act_as_their_maker_only_if_made_for_a_ci_identity(
        tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:5]:
            for statement in statements(script):
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '5')")
        for key_id, user, scopes in (("k1", "ci", '["deploy:production"]'),
                                     ("k2", "bob", '["deploy:production"]'),
                                     ("k3", "eve", '["admin"]')):
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, 'h', "
                       "'2026-01-01T00:00:00+00:00', NULL, NULL, 'olga')",
                       (key_id, key_id, user, scopes))
        db.execute("INSERT INTO grants VALUES ('bob', '*', 'viewer', "
                   "'2026-01-01T00:00:00+00:00', 'olga')")
    with ControlPlane(path) as store:
        made = store.keys()
    assert {k.user: k.acts_as for k in made} == {"ci": "olga", "bob": None, "eve": None}


def test_runs_recorded_before_schema_9_give_each_agent_its_latest_run(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS:
            for statement in statements(script):
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(len(MIGRATIONS)),))
        for run_id, agent, at in (("a1", "a", "2026-01-01T00:00:00+00:00"),
                                  ("a2", "a", "2026-01-02T00:00:00+00:00"),
                                  ("a3", "a", "2026-01-02T00:00:00+00:00"),  # a tie: recorded last
                                  ("b1", "b", "2026-01-01T00:00:00+00:00")):
            db.execute("INSERT INTO runs VALUES (?, 'staging', ?, '1.0', NULL, 'manual', ?, "
                       "'succeeded', 1, 5, 1, '{}')", (run_id, agent, at))
    with ControlPlane(path) as store:
        assert {agent: run.run_id for agent, run in store.latest_runs("staging").items()} == {
            "a": "a3", "b": "b1"}


def test_an_unreachable_team_database_is_one_line_with_the_reason_and_no_password() -> None:
    with pytest.raises(StateError) as refused:
        ControlPlane("postgresql://flexor:s3cret@127.0.0.1:1/flexor")
    message = str(refused.value)
    assert message.startswith("cannot reach the team control plane "
                              "postgresql://flexor:***@127.0.0.1:1/flexor (")
    assert "Connection refused" in message and "s3cret" not in message
    assert "\n" not in message


def test_a_malformed_team_url_never_shows_its_password_through_the_cli(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", "postgresql://ops:s3cret@[::1/flexor")
    assert flexor_main(project, "db", "status") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the team control plane") and "s3cret" not in err
