"""Access and managed production on the real engine: every refusal exits 3 and leaves the stack
state and the control plane byte-identical; the whole managed path runs end to end.

Commands run in process (the Automation API runs the engine) so that the one injectable clock
can be set; `pulumi up` run directly is a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.access.keys import key_id_of
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env
from flexor_iac.main import main
from tests.helpers.keys import issue_key

pytestmark = pytest.mark.engine

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    """`flexor ARGS` in process, with FLEXOR_API_KEY = `key` and the clock at `at`."""
    def invoke(*args: str, key: str | None = None,
               at: datetime | None = None) -> tuple[int, str, str]:
        if key is None:
            monkeypatch.delenv("FLEXOR_API_KEY", raising=False)
        else:
            monkeypatch.setenv("FLEXOR_API_KEY", key)
        capsys.readouterr()
        with clock.frozen(at or datetime.now(UTC)):
            code = main([*args, "--project-dir", str(project)])
        out, err = capsys.readouterr()
        return code, out, err
    return invoke


def persisted(project: Path) -> dict[str, bytes]:
    """The stack state and the control plane, byte for byte."""
    files = {str(p): p.read_bytes() for p in (project / ".flexor" / "state").rglob("*")
             if p.is_file()}
    files["control-plane.db"] = (project / ".flexor" / "control-plane.db").read_bytes()
    return files


def resources(project: Path, stack: str) -> list[tuple[str, object, object]]:
    """The flexor resources in a stack's checkpoint: URN, inputs, outputs."""
    checkpoint = project / ".flexor/state/.pulumi/stacks/flexor" / f"{stack}.json"
    found = json.loads(checkpoint.read_text())["checkpoint"]["latest"]["resources"]
    return [(r["urn"], r.get("inputs"), r.get("outputs")) for r in found
            if r["type"].startswith("pulumi-python:dynamic/flexor:")]


def refused(cli: Cli, project: Path, *args: str, expect: str, **options: object) -> None:
    """The command exits 3 with one line containing `expect`, and changes nothing."""
    before = persisted(project)
    code, _out, err = cli(*args, **options)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert (code, len(errors)) == (ExitCode.REFUSED, 1), err
    assert expect in errors[0], err
    assert persisted(project) == before


def bump(project: Path, version: str) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    text = agent.read_text()
    current = text.split('version: "')[1].split('"')[0]
    agent.write_text(text.replace(f'version: "{current}"', f'version: "{version}"')
                     .replace("backoff_seconds: 60", f"backoff_seconds: {60 + len(version)}"))


@pytest.fixture
def keys(project: Path) -> dict[str, str]:
    with ControlPlane(locate(project)) as store:
        made = {
            "alice": issue_key(store, "alice", "deploy:production", "deploy:staging", "read"),
            "bob": issue_key(store, "bob", "deploy:production", "admin", "read"),
            "staging-only": issue_key(store, "carol", "deploy:staging"),
            "expired": issue_key(store, "dan", "deploy:production",
                                 expires_at=datetime.now(UTC) - timedelta(hours=1)),
            "revoked": issue_key(store, "eve", "deploy:production"),
            "no-role": issue_key(store, "frank", "deploy:production", role=None),
        }
        store.revoke_key(key_id_of(made["revoked"]) or "", datetime.now(UTC))
    return made


def test_production_refusals_change_nothing(cli: Cli, project: Path,
                                            keys: dict[str, str]) -> None:
    assert cli("sync", "--vault", "company", key=keys["bob"])[0] == ExitCode.OK
    code, _out, err = cli("deploy", "--env", "production", "--yes", key=keys["alice"])
    assert code == ExitCode.OK, err
    bump(project, "1.1")
    needed = "needs an API key with scope deploy:production (FLEXOR_API_KEY)"
    for key in (None, "flx_000000000000_" + "x" * 43, keys["staging-only"], keys["expired"],
                keys["revoked"]):
        refused(cli, project, "deploy", "--env", "production", "--yes", key=key, expect=needed)
    refused(cli, project, "deploy", "--env", "production", "--yes", key=keys["no-role"],
            expect="user frank may not deploy to production (role on vault company: none; "
                   "needs admin)")
    refused(cli, project, "rollback", "--agent", "feed-monitor", "--env", "production",
            "--yes", expect="needs an API key with scope deploy:production")

    # `pulumi up` run directly obeys the same policy: no resource and no control-plane change
    # (Pulumi itself still records the failed update in the stack's history).
    before = (resources(project, "production"), persisted(project)["control-plane.db"])
    environ = {**os.environ, **engine_env(ProjectPaths(project))}
    environ.pop("FLEXOR_API_KEY", None)
    direct = subprocess.run(["pulumi", "up", "--stack", "production", "--yes",
                             "--non-interactive"], cwd=project, env=environ,
                            capture_output=True, text=True, timeout=300, check=False)
    assert direct.returncode != 0
    assert needed in direct.stdout + direct.stderr
    assert (resources(project, "production"), persisted(project)["control-plane.db"]) == before

    # The key secrets are written nowhere.
    for file in (project / ".flexor").rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert not any(k.split("_", 2)[2].encode() in data for k in keys.values()), file


MONDAY = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # Monday 11:00 EDT


def test_the_managed_production_path_end_to_end(cli: Cli, project: Path,
                                               keys: dict[str, str]) -> None:
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:managed: true\n")
    assert cli("sync", "--vault", "company", key=keys["bob"])[0] == ExitCode.OK
    alice, bob = keys["alice"], keys["bob"]

    code, out, err = cli("deploy", "--env", "production", "--yes", key=alice, at=MONDAY)
    assert code == ExitCode.OK, err
    request = out.split("Request ")[1].split(" ")[0]
    assert f"Request {request} created; staging review until 2026-03-11 15:00 UTC " \
           "(Wed 2026-03-11 11:00 EDT)." in out
    code, out, _err = cli("status", "--env", "staging", key=alice)
    assert "Agents: 0 active, 0 paused, 0 erroring, 1 not served" in out  # in staging
    code, out, _err = cli("status", "--env", "production", key=alice)
    assert "Agents: 0 active, 0 paused, 0 erroring" in out      # not in production yet

    refused(cli, project, "deploy", "--request", request, "--env", "production", "--yes",
            key=alice, at=MONDAY, expect=f"request {request} is not approved yet")
    refused(cli, project, "approve", request, key=bob, at=MONDAY + timedelta(hours=1),
            expect=f"request {request} is in staging review until 2026-03-11 15:00 UTC")
    after_review = MONDAY + timedelta(hours=49)
    refused(cli, project, "approve", request, key=alice, at=after_review,
            expect="needs an API key with scope admin")
    with ControlPlane(locate(project)) as store:  # alice as an admin: still the requester
        alice_admin = issue_key(store, "alice", "admin", role="admin")
    refused(cli, project, "approve", request, key=alice_admin, at=after_review,
            expect=f"alice made request {request}; someone else must approve it")
    code, _out, err = cli("approve", request, key=bob, at=after_review)
    assert code == ExitCode.OK, err

    refused(cli, project, "deploy", "--request", request, "--env", "production", "--yes",
            key=alice, at=after_review, expect="the next opens 2026-03-13 02:00 UTC "
                                               "(Thu 2026-03-12 22:00 EDT)")
    in_window = datetime(2026, 3, 13, 2, 30, tzinfo=UTC)
    agent = project / "agents" / "feed-monitor.yaml"
    original = agent.read_text()
    bump(project, "1.1")
    refused(cli, project, "deploy", "--request", request, "--env", "production", "--yes",
            key=alice, at=in_window, expect="the plan differs from the one approved")
    agent.write_text(original)

    code, out, err = cli("deploy", "--request", request, "--env", "production", "--yes",
                         key=alice, at=in_window)
    assert code == ExitCode.OK, err
    assert f"Request {request} applied." in out
    code, out, _err = cli("status", "--env", "production", key=alice)
    assert "Agents: 0 active, 0 paused, 0 erroring, 1 not served" in out  # no server
    code, out, _err = cli("requests", "show", request, key=alice)
    assert f"Request {request} for production: applied" in out
    refused(cli, project, "deploy", "--request", request, "--env", "production", "--yes",
            key=alice, at=in_window, expect=f"request {request} is applied")


def test_a_full_stack_cto_stack_deploys_production_self_service(
        cli: Cli, project: Path, keys: dict[str, str]) -> None:
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:managed: true\n"
                                         "  flexor:engagementTier: full-stack-cto\n")
    assert cli("sync", "--vault", "company", key=keys["bob"])[0] == ExitCode.OK
    refused(cli, project, "deploy", "--env", "production", "--yes",
            expect="needs an API key with scope deploy:production")  # keys still apply
    code, out, err = cli("deploy", "--env", "production", "--yes", key=keys["alice"],
                         at=MONDAY)  # outside any window: self-service needs none
    assert code == ExitCode.OK, err
    assert out.splitlines()[-1] == "Deployed to production: 3 create."
