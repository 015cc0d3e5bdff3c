"""`flexor db status` on the embedded store and on a team's PostgreSQL: where things are, the
schema, and who holds each environment's lock."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.controlplane.migrate import HEAD
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.workspace import ProjectPaths
from tests.helpers.cli import flexor_main

STAGING = Environment.STAGING


def _status(project: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    capsys.readouterr()
    code = flexor_main(project, "db", "status", *flags)
    return code, capsys.readouterr().out


def test_a_new_project_shows_the_embedded_store_and_creates_nothing(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXOR_DATABASE_URL", raising=False)  # embedded, whatever --store says
    code, out = _status(project, capsys)
    assert code == 0
    assert f"control plane: {project / '.flexor' / 'control-plane.db'} (embedded, SQLite)" in out
    assert f"none yet (made at schema {HEAD}" in out
    assert f"Pulumi state:  file://{project / '.flexor' / 'state'}" in out
    assert "locks:         none" in out
    assert not (project / ".flexor" / "control-plane.db").exists()


def test_a_held_lock_names_its_holder_and_a_released_one_disappears(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXOR_DATABASE_URL", raising=False)  # this machine's lock files
    ControlPlane(locate(project)).close()
    with environment_lock(ProjectPaths(project), STAGING):
        code, out = _status(project, capsys, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["schema"] == {"version": HEAD, "current": HEAD}
    assert [(lock["environment"], lock["held"]) for lock in document["locks"]] == [
        ("staging", True)]
    assert document["locks"][0]["command"]
    assert json.loads(_status(project, capsys, "--json")[1])["locks"] == []


def _hold_lock(root: Path, env: Environment, acquired: Event, release: Event) -> None:
    with environment_lock(ProjectPaths(root), env):
        acquired.set()
        release.wait(60)


@pytest.mark.engine
@pytest.mark.parametrize("env", [STAGING, Environment.SANDBOX])  # lock keys of either sign
def test_team_mode_shows_the_database_without_its_password_and_locks_across_clones(
        project: Path, tmp_path: Path, team_database: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], env: Environment) -> None:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database.replace("postgres:@", "postgres:pw@"))
    code, out = _status(project, capsys)
    assert code == 0 and "(team mode, PostgreSQL)" in out and ":pw@" not in out
    assert "Pulumi state:  postgres://postgres:***@" in out
    elsewhere = tmp_path / "elsewhere"  # another clone, on another machine: its own .flexor/
    elsewhere.mkdir()
    (elsewhere / "Pulumi.yaml").write_text((project / "Pulumi.yaml").read_text())
    context = multiprocessing.get_context("spawn")
    acquired, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(elsewhere, env, acquired, release))
    holder.start()
    try:
        assert acquired.wait(60)
        _code, out = _status(project, capsys)
        assert f"  {env.value}: held by " in out and "(pid " in out
        with pytest.raises(PolicyRefusal, match=rf"{env.value} is locked by another flexor "
                                                r"operation: .* running `"), \
                environment_lock(ProjectPaths(project), env):
            pass
    finally:
        release.set()
        holder.join(60)
    assert holder.exitcode == 0
    with environment_lock(ProjectPaths(project), env):  # released: anyone may take it
        pass
    assert "locks:         none" in _status(project, capsys)[1]


def _die_holding_lock(root: Path, acquired: Event) -> None:
    with environment_lock(ProjectPaths(root), STAGING):
        acquired.set()
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.engine
def test_a_team_lock_whose_holder_was_killed_is_free_and_the_next_operation_says_so(
        project: Path, tmp_path: Path, team_database: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "Pulumi.yaml").write_text((project / "Pulumi.yaml").read_text())
    context = multiprocessing.get_context("spawn")
    acquired = context.Event()
    victim = context.Process(target=_die_holding_lock, args=(elsewhere, acquired))
    victim.start()
    victim.join(60)
    assert acquired.is_set() and victim.exitcode == -signal.SIGKILL
    assert "staging: free; its last holder ended without finishing" in _status(project, capsys)[1]
    said: list[str] = []
    with environment_lock(ProjectPaths(project), STAGING, say=said.append):
        pass
    assert [line.split(":")[0] for line in said] == [
        "the previous operation on staging ended without finishing"]
