"""Team mode end to end: two clones of one project, each with its own empty `.flexor/`, on one
real PostgreSQL (FLEXOR_DATABASE_URL), with the Pulumi state in Pulumi's postgres:// backend on
the same server — as a developer's machine and a CI runner would be."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.conftest import REPO
from tests.helpers.cli import flexor, flexor_ok
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine

PASSPHRASE = "the-team-passphrase"


@pytest.fixture
def team(project: Path, team_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    return team_database


def _clone(project: Path, where: Path) -> Path:
    """Another checkout of the project: the same files, no `.flexor/`."""
    shutil.copytree(project, where, ignore=shutil.ignore_patterns(".flexor"))
    return where


def _bump(root: Path, version: str) -> None:
    agent = root / "agents" / "feed-monitor.yaml"
    text = agent.read_text()
    start = text.index('version: "') + len('version: "')
    agent.write_text(text[:start] + version + text[text.index('"', start):])


def _status(root: Path) -> str:
    return flexor_ok(root, "status", "--env", "staging").stdout


def test_two_clones_share_one_control_plane_state_and_keys(team: str, project: Path,
                                                           tmp_path: Path) -> None:
    clone_a = project
    flexor_ok(clone_a, "sync", "--all")
    deployed = flexor_ok(clone_a, "deploy", "--env", "staging", "--yes")
    assert "Deployed to staging: 3 create" in deployed.stdout

    clone_b = _clone(project, tmp_path / "clone-b")
    assert _status(clone_b) == _status(clone_a)
    assert "Agents: 0 active, 0 paused, 0 erroring, 1 not served" in _status(clone_b)
    for verb in (("agents", "list", "--env", "staging"), ("history", "--env", "staging")):
        assert flexor_ok(clone_b, *verb).stdout == flexor_ok(clone_a, *verb).stdout
    assert "No changes" in flexor_ok(clone_b, "deploy", "--env", "staging", "--yes").stdout

    # A key made on A works on B: B checks keys against the shared table.
    secret = flexor_ok(clone_a, "keys", "create", "--name", "ci", "--user", "ci@fund.com",
                       "--scope", "admin", "--scope", "deploy:staging", "--scope", "read",
                       "--secret-only").stdout.strip()
    os.environ["FLEXOR_API_KEY"] = secret[:-4] + "xxxx"  # a key nobody made
    try:
        forged = flexor(clone_b, "keys", "list")
        assert forged.returncode == ExitCode.REFUSED, forged.stdout + forged.stderr
        os.environ["FLEXOR_API_KEY"] = secret
        assert '"name": "ci"' in flexor_ok(clone_b, "keys", "list", "--json").stdout
        assert "No changes" in flexor_ok(clone_b, "deploy", "--env", "staging",
                                         "--yes").stdout

        # A moves on to 1.1; B, an older checkout, may not take staging back to 1.0.
        _bump(clone_a, "1.1")
        flexor_ok(clone_a, "deploy", "--env", "staging", "--yes")
        older = flexor(clone_b, "deploy", "--env", "staging", "--yes")
        assert older.returncode == ExitCode.REFUSED, older.stdout + older.stderr
        assert "1.1" in older.stdout + older.stderr
        listed = flexor_ok(clone_b, "agents", "list", "--env", "staging").stdout
        assert "1.1" in listed and "1.0" not in listed
    finally:
        del os.environ["FLEXOR_API_KEY"]


def test_clones_deploying_at_once_both_succeed_one_after_the_other(
        team: str, project: Path, tmp_path: Path) -> None:
    clone_b = _clone(project, tmp_path / "clone-b")
    flexor_ok(project, "sync", "--all")
    first = subprocess.Popen([str(Path(sys.executable).parent / "flexor"), "deploy", "--env",
                              "staging", "--yes"], cwd=project, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        def held() -> bool:
            assert first.poll() is None, "A ended before B saw it hold the lock"
            return "staging: held by" in flexor_ok(clone_b, "db", "status").stdout
        eventually(held, "A never took the lock", timeout=120, interval=0.1)
        refused = flexor(clone_b, "deploy", "--env", "staging", "--yes", "--lock-timeout", "0")
        assert refused.returncode == ExitCode.REFUSED
        assert "staging is locked by another flexor operation" in refused.stderr
        assert "flexor deploy --env staging --yes" in refused.stderr  # the holder's command
        second = flexor(clone_b, "deploy", "--env", "staging", "--yes")  # waits in line
        assert second.returncode == ExitCode.OK, second.stdout + second.stderr
        assert first.poll() is not None  # B deployed once A had finished
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, out + err
    assert "Deployed to staging: 3 create" in out and "No changes" in second.stdout
    assert _status(clone_b) == _status(project)


def test_a_fresh_clone_previews_no_changes_with_pulumi_directly(team: str, project: Path,
                                                                tmp_path: Path) -> None:
    flexor_ok(project, "sync", "--all")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    fresh = _clone(project, tmp_path / "runner")  # nothing synced or deployed from here
    env = dict(os.environ,
               PATH=f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ['PATH']}",
               PULUMI_BACKEND_URL="postgres://" + team.split("://", 1)[1],
               PULUMI_SKIP_UPDATE_CHECK="true",
               PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
               PULUMI_HOME=str(tmp_path / "pulumi-home"))
    preview = subprocess.run(["pulumi", "preview", "--stack", "staging", "--non-interactive",
                              "--expect-no-changes"], cwd=fresh, env=env, capture_output=True,
                             text=True, timeout=300, check=False)
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "unchanged" in preview.stdout


def test_an_embedded_project_moves_into_the_team_database_whole(
        project: Path, tmp_path: Path, team_database: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    flexor_ok(project, "sync", "--all")  # embedded: no FLEXOR_DATABASE_URL yet
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    _bump(project, "1.1")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    flexor_ok(project, "plexifact", "load", "--env", "staging")  # an embedded catalog file
    secret = flexor_ok(project, "keys", "create", "--name", "me", "--user", "olga@fund.com",
                       "--scope", "admin", "--scope", "read", "--secret-only").stdout.strip()
    monkeypatch.setenv("FLEXOR_API_KEY", secret)
    verbs = (("status", "--env", "staging"), ("history", "--env", "staging"),
             ("agents", "list", "--env", "staging"), ("keys", "list"))
    before = [flexor_ok(project, *verb).stdout for verb in verbs]
    assert "PlexiFact connection: healthy" in before[0]

    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not the one the stacks were encrypted with")
    wrong = flexor(project, "db", "migrate-from-local", "--yes")
    assert wrong.returncode == ExitCode.USAGE and "nothing was moved" in wrong.stderr
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(project / ".flexor" / "passphrase"))
    dry = flexor_ok(project, "db", "migrate-from-local", "--dry-run").stdout
    assert "stacks: staging" in dry and "Dry run: nothing was moved" in dry
    assert "1 agents" in dry and "1 api_keys" in dry and "1 catalogs" in dry
    flexor_ok(project, "db", "migrate-from-local", "--yes")

    runner = _clone(project, tmp_path / "runner")  # a fresh checkout: only the database
    assert [flexor_ok(runner, *verb).stdout for verb in verbs] == before
    assert "No changes" in flexor_ok(runner, "deploy", "--env", "staging", "--yes").stdout
    again = flexor(project, "db", "migrate-from-local", "--yes")
    assert again.returncode == ExitCode.REFUSED
    assert "already holds a control plane" in again.stderr
