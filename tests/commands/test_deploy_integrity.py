"""A deploy applies exactly the plan it showed, or nothing: confirmation, the lock held across
the prompt, stale and saved plans, drift repair, downgrades, damaged local files. The real CLI
and the real engine, in temp dirs."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from flexor_iac.commands import deploy
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import recovery
from flexor_iac.deploy.engine_workspace import engine_env
from tests.helpers.cli import flexor, flexor_ok

pytestmark = pytest.mark.engine

AGENT = Path("agents") / "feed-monitor.yaml"
STATE = Path(".flexor") / "state" / ".pulumi" / "stacks" / "flexor" / "staging.json"


class Terminal(io.StringIO):
    """A stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _set_version(project: Path, version: str) -> None:
    agent = project / AGENT
    text = re.sub(r'version: "[0-9.]+"', f'version: "{version}"', agent.read_text(), count=1)
    attempts = int(version.split(".")[-1]) + 2  # a spec change that goes with the version
    agent.write_text(re.sub(r"max_attempts: \d+", f"max_attempts: {attempts}", text))


def _deployed(project: Path, version: str = "1.0") -> None:
    flexor_ok(project, "sync", "--vault", "company")
    _set_version(project, version)
    flexor_ok(project, "deploy", "--env", "staging", "--yes")


def _roster(project: Path) -> dict[str, str]:
    listed = json.loads(flexor_ok(project, "agents", "list", "--env", "staging", "--json").stdout)
    return {row["name"]: row["version"] for row in listed["agents"]}


def _state_versions(project: Path) -> dict[str, str]:
    state = json.loads((project / STATE).read_text())["checkpoint"]["latest"]
    return {r["urn"].rsplit("::", 1)[-1]: r["inputs"]["version"] for r in state["resources"]
            if r["type"].endswith("flexor:Agent")}


def _pulumi(project: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["pulumi", *args, "--stack", "staging", "--non-interactive"],
                          cwd=project, input=stdin, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **engine_env(ProjectPaths(project))}, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- confirmation -------------------------------------------------------------------------

@pytest.mark.embedded
@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["text", "json"])
def test_without_a_terminal_and_without_yes_nothing_is_applied(project: Path,
                                                               extra: list[str]) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    before = (project / STATE).read_bytes()
    refused = flexor(project, "deploy", "--env", "staging", *extra)  # stdin is /dev/null
    assert refused.returncode == ExitCode.USAGE
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: deploying to staging needs --yes when stdin is not a terminal (nothing was "
        "asked, nothing was applied)")
    assert (project / STATE).read_bytes() == before
    assert _roster(project) == {"feed-monitor": "1.0"}


def test_rollback_without_a_terminal_needs_yes(project: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    refused = flexor(project, "rollback", "--agent", "feed-monitor", "--env", "staging")
    assert refused.returncode == ExitCode.USAGE
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: rolling back in staging needs --yes when stdin is not a terminal (nothing was "
        "asked, nothing was applied)")
    assert _roster(project) == {"feed-monitor": "1.1"}


# --- the lock across the prompt, and stale plans --------------------------------------------

def _deploy_in_process(project: Path, answer: object) -> tuple[int, Console]:
    """`flexor deploy --env staging` on a terminal; `answer(question)` is the person."""
    console = Console(out=io.StringIO(), err=io.StringIO(), stdin=Terminal())
    request = deploy.DeployRequest(Environment.STAGING)
    try:
        code = deploy.run(ProjectPaths(project), request, console, answer)  # type: ignore[arg-type]
    except FlexorError as error:  # what main() turns into one line and the exit code
        console.error(str(error))
        code = error.exit_code
    return code, console


def test_the_lock_is_held_while_the_prompt_waits(project: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    seen: list[subprocess.CompletedProcess[str]] = []

    def person(question: str) -> bool:
        assert question == "Deploy these changes to staging?"
        seen.append(flexor(project, "deploy", "--env", "staging", "--yes", "--lock-timeout",
                           "0"))
        return True

    code, console = _deploy_in_process(project, person)
    assert code == ExitCode.OK, console.err.getvalue()  # type: ignore[attr-defined]
    other = seen[0]
    assert other.returncode == ExitCode.REFUSED
    assert re.search(rf"error: staging is locked by another flexor operation: \S+@\S+ "
                     rf"\(pid {os.getpid()}\) running `.*` for \dm\d\ds", other.stderr)
    assert _roster(project) == {"feed-monitor": "1.1"}


@pytest.mark.embedded
def test_a_plan_whose_state_moved_at_the_prompt_is_not_applied(project: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")

    def person(_question: str) -> bool:
        # someone changes the stack behind flexor's back while the question is open
        exported = json.loads(_pulumi(project, "stack", "export"))
        for resource in exported["deployment"]["resources"]:
            if resource["type"].endswith("flexor:Agent"):
                resource["outputs"]["in_control_plane"] = False
        _pulumi(project, "stack", "import", stdin=json.dumps(exported))
        return True

    moved = (project / STATE).read_bytes()
    code, console = _deploy_in_process(project, person)
    assert code == ExitCode.REFUSED
    err = console.err.getvalue()  # type: ignore[attr-defined]
    assert err.strip().splitlines()[-1] == (
        "error: the plan is stale: the staging stack's state changed (another deploy, rollback, "
        "refresh or a direct pulumi command ran) since it was shown; nothing was applied; run "
        "deploy again")
    assert _state_versions(project) == {"feed-monitor": "1.0"}
    assert (project / STATE).read_bytes() != moved  # the import moved it; the deploy did not
    assert _roster(project) == {"feed-monitor": "1.0"}


@pytest.mark.embedded
def test_a_saved_plan_applies_exactly_and_a_stale_one_is_refused(project: Path,
                                                                 tmp_path: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    saved = tmp_path / "staging.plan"
    planned = flexor_ok(project, "deploy", "--env", "staging", "--plan-out", str(saved))
    assert " ~ Agent feed-monitor  1.0 → 1.1  (spec.retry)" in planned.stdout.splitlines()
    assert _roster(project) == {"feed-monitor": "1.0"}  # --plan-out is a dry run
    doc = json.loads(saved.read_text())
    assert doc["kind"] == "flexor-plan" and doc["basis"]["environment"] == "staging"
    # a second plan, applied first, moves the state: the first plan is stale
    other = tmp_path / "other.plan"
    _set_version(project, "1.2")
    flexor_ok(project, "deploy", "--env", "staging", "--plan-out", str(other))
    applied = flexor_ok(project, "deploy", "--env", "staging", "--plan", str(other), "--yes")
    assert "Deployed to staging: 1 update." in applied.stdout
    before = (project / STATE).read_bytes()
    _set_version(project, "1.1")  # even with the files as they were planned
    stale = flexor(project, "deploy", "--env", "staging", "--plan", str(saved), "--yes")
    assert stale.returncode == ExitCode.REFUSED
    assert stale.stderr.strip().splitlines()[-1] == (
        "error: the plan is stale: the staging stack's state changed (another deploy, rollback, "
        "refresh or a direct pulumi command ran) since it was shown; nothing was applied; run "
        "deploy again")
    assert (project / STATE).read_bytes() == before
    assert _roster(project) == {"feed-monitor": "1.2"}


def test_a_saved_plan_is_refused_when_the_files_changed(project: Path, tmp_path: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    saved = tmp_path / "staging.plan"
    flexor_ok(project, "deploy", "--env", "staging", "--plan-out", str(saved))
    _set_version(project, "1.3")
    stale = flexor(project, "deploy", "--env", "staging", "--plan", str(saved), "--yes")
    assert stale.returncode == ExitCode.REFUSED
    assert "the plan is stale: the project's files changed since it was shown" in stale.stderr
    assert _roster(project) == {"feed-monitor": "1.0"}


def test_a_saved_plan_is_refused_while_a_cut_off_update_is_not_recovered(
        project: Path, tmp_path: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    saved = tmp_path / "staging.plan"
    flexor_ok(project, "deploy", "--env", "staging", "--plan-out", str(saved))
    with ControlPlane.of(ProjectPaths(project)) as store, pytest.raises(KeyboardInterrupt), \
            recovery.journal(store, Environment.STAGING, targeted=False):
        raise KeyboardInterrupt  # an update that never ended
    refused = flexor(project, "deploy", "--env", "staging", "--plan", str(saved), "--yes")
    assert refused.returncode == ExitCode.REFUSED
    assert "the last update of staging was cut off" in refused.stderr.strip().splitlines()[-1]
    assert _roster(project) == {"feed-monitor": "1.0"}
    recovered = flexor_ok(project, "deploy", "--env", "staging", "--yes")
    assert "this one refreshes the stack from the control plane" in recovered.stderr
    assert _roster(project) == {"feed-monitor": "1.1"}


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not a saved flexor plan (invalid JSON"),
    ('{"kind": "something-else"}', "not a saved flexor plan (write one with --plan-out)"),
    ("[" * 100_000, "not a saved flexor plan (invalid JSON"),
])
def test_a_file_that_is_no_saved_plan_is_a_usage_error(project: Path, tmp_path: Path,
                                                       content: str, message: str) -> None:
    saved = tmp_path / "bad.plan"
    saved.write_text(content)
    refused = flexor(project, "deploy", "--env", "staging", "--plan", str(saved), "--yes")
    assert refused.returncode == ExitCode.USAGE
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(saved) in lines[0]


# --- drift and downgrades ---------------------------------------------------------------------

@pytest.mark.embedded
def test_refresh_repairs_a_version_changed_in_the_control_plane(project: Path) -> None:
    _deployed(project, "1.1")
    with sqlite3.connect(project / ".flexor" / "control-plane.db") as db:
        db.execute("UPDATE agents SET version='9.9' WHERE name='feed-monitor'")
    assert _roster(project) == {"feed-monitor": "9.9"}
    repaired = flexor_ok(project, "deploy", "--env", "staging", "--refresh", "--yes")
    assert " ~ Agent feed-monitor  (control_plane)" in repaired.stdout.splitlines()
    assert "Deployed to staging: 1 update." in repaired.stdout
    assert _roster(project) == {"feed-monitor": "1.1"}
    assert "No changes." in flexor_ok(project, "deploy", "--env", "staging", "--refresh",
                                      "--yes").stdout


def test_an_older_checkout_is_refused_as_a_downgrade(project: Path) -> None:
    _deployed(project, "1.1")
    _set_version(project, "1.0")
    refused = flexor(project, "deploy", "--env", "staging", "--yes")
    assert refused.returncode == ExitCode.REFUSED
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: refused: agent feed-monitor would go down from 1.1 to 1.0 in staging (an older "
        "checkout?); use `flexor rollback` to go back, or --allow-downgrade if this is intended")
    assert _roster(project) == {"feed-monitor": "1.1"}
    flexor_ok(project, "deploy", "--env", "staging", "--yes", "--allow-downgrade")
    assert _roster(project) == {"feed-monitor": "1.0"}


def test_sandbox_allows_going_down(project: Path) -> None:
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "deploy", "--env", "sandbox", "--yes")
    assert flexor(project, "deploy", "--env", "sandbox", "--yes").returncode == ExitCode.OK


# --- damaged local files ------------------------------------------------------------------------

@pytest.mark.embedded
def test_a_damaged_control_plane_is_one_line_naming_it(project: Path) -> None:
    _deployed(project)
    database = project / ".flexor" / "control-plane.db"
    for leftover in database.parent.glob("control-plane.db-*"):
        leftover.unlink()
    database.write_bytes(b"this is not a database" * 100)
    for verb in (["status", "--env", "staging"], ["deploy", "--env", "staging", "--yes"]):
        done = flexor(project, *verb)
        assert done.returncode == ExitCode.FAILED, verb
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: the control plane {database} is damaged (")
        assert "flexor deploy --refresh" in lines[0]


@pytest.mark.embedded
def test_a_damaged_state_file_is_one_line_naming_it(project: Path) -> None:
    _deployed(project)
    _set_version(project, "1.1")
    (project / STATE).write_text('{"version": 3, "checkpoint": {"latest": {"resou')
    for verb in (["deploy", "--env", "staging", "--yes"], ["history", "--env", "staging"]):
        done = flexor(project, *verb)
        assert done.returncode == ExitCode.FAILED, (verb, done.stderr)
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("error: the Pulumi state of staging is damaged (")
        assert str(project / STATE) in last and "staging.json.bak" in last


@pytest.mark.embedded
def test_a_lost_passphrase_is_never_replaced_silently(project: Path) -> None:
    _deployed(project)
    passphrase = project / ".flexor" / "passphrase"
    passphrase.unlink()
    _set_version(project, "1.1")  # a deploy that needs the engine (and so the passphrase)
    done = flexor(project, "deploy", "--env", "staging", "--yes")
    assert done.returncode == ExitCode.FAILED
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: the passphrase file {passphrase} is missing, but ")
    assert "PULUMI_CONFIG_PASSPHRASE" in lines[-1]
    assert not passphrase.exists()


def test_a_plan_that_cannot_be_saved_is_one_usage_line(project: Path, tmp_path: Path) -> None:
    _deployed(project)
    target = tmp_path / "missing-folder" / "staging.plan"
    refused = flexor(project, "deploy", "--env", "staging", "--plan-out", str(target))
    assert refused.returncode == ExitCode.USAGE
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: --plan-out {target}: cannot write it (No such file or directory)")
