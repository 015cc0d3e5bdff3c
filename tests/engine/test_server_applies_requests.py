"""Managed production without a night shift, on the real engine: two requests reviewed and
approved by a second admin; a real `flexor serve --env production` whose clock (FLEXOR_CLOCK)
starts just before Thursday's window opens applies the one still current when the window
opens — history names requester and approver — and leaves the stale one open, saying why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import ExitCode
from flexor_iac.main import main
from tests.helpers.keys import issue_key
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine

Cli = Callable[..., tuple[int, str, str]]
MONDAY = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # Monday 11:00 EDT
OPENS = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)  # Thursday 22:00 EDT: the window opens
SERVER = "flexor-server for bob (requested by alice)"


@pytest.fixture
def cli(project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    """`flexor ARGS` in process, with FLEXOR_API_KEY = `key` and the clock at `at`."""
    def invoke(*args: str, key: str, at: datetime) -> tuple[int, str, str]:
        monkeypatch.setenv("FLEXOR_API_KEY", key)
        capsys.readouterr()
        with clock.frozen(at):
            code = main([*args, "--project-dir", str(project)])
        out, err = capsys.readouterr()
        return code, out, err
    return invoke


def request_of(project: Path, request_id: str) -> DeploymentRequest:
    with ControlPlane(locate(project)) as store:
        found = store.request(request_id)
    assert found is not None
    return found


def bump(project: Path) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "1.1"')
                     .replace("backoff_seconds: 60", "backoff_seconds: 61"))


def test_the_server_applies_an_approved_request_when_the_window_opens(
        cli: Cli, project: Path) -> None:
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:managed: true\n")
    with ControlPlane(locate(project)) as store:
        alice = issue_key(store, "alice", "deploy:production", "deploy:staging", "read")
        bob = issue_key(store, "bob", "deploy:production", "admin", "read")
        server = issue_key(store, "flexor-server", "run:production", "deploy:production")
    assert cli("sync", "--vault", "company", key=bob, at=MONDAY)[0] == ExitCode.OK

    requested = []
    for at in (MONDAY, MONDAY + timedelta(hours=1)):
        code, out, err = cli("deploy", "--env", "production", "--yes", key=alice, at=at)
        assert code == ExitCode.OK, err
        requested.append(out.split("Request ")[1].split(" ")[0])
        bump(project)  # the second request is of 1.1: the first one is stale from now on
    stale, current = requested
    for request in requested:
        code, out, err = cli("approve", request, key=bob, at=MONDAY + timedelta(hours=50))
        assert code == ExitCode.OK, err
        assert "The server (`flexor serve --env production`) applies it at 2026-03-13 02:00 " \
               "UTC (Thu 2026-03-12 22:00 EDT)" in out
    code, out, _err = cli("requests", "show", current, key=alice, at=OPENS - timedelta(hours=1))
    assert "  applies at 2026-03-13 02:00 UTC (Thu 2026-03-12 22:00 EDT) (by the server)" in out

    env = {**os.environ, "FLEXOR_API_KEY": server,
           "FLEXOR_CLOCK": (OPENS - timedelta(seconds=5)).isoformat()}
    lines: list[str] = []
    serve = subprocess.Popen([str(Path(sys.executable).parent / "flexor"), "serve", "--env",
                              "production", "--port", "0"], cwd=project, env=env, text=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    assert serve.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(
        line.rstrip("\n") for line in serve.stdout or ()), daemon=True)
    reader.start()
    try:
        # applied (the child's deploy records it), and said by the server once its child ended
        eventually(lambda: request_of(project, current).status == "applied" and any(
                       f"request {current}: applied: " in line for line in list(lines)),
                   lambda: f"the server did not apply {current}: {lines}", timeout=300,
                   interval=0.5)
        assert request_of(project, stale).attempt == "stale"
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=90) == ExitCode.OK, lines
        reader.join(10)
    said = "\n".join(lines)
    assert "Production is PLEXI-managed: approved requests are applied when a maintenance " \
           "window opens." in said
    assert "warning: the clock is simulated (FLEXOR_CLOCK)" in said
    assert f"request {current}: applied: applied by {SERVER}" in said
    assert f"  [{current}] Request {current} applied." in said  # the deploy's own lines
    assert f"Request {current} applied." in (project / ".flexor/logs" /
                                             f"request-{current}.log").read_text()
    applied = request_of(project, current)
    assert applied.applied_at is not None and OPENS <= applied.applied_at < OPENS + \
        timedelta(minutes=10)  # the server's own (simulated) clock

    later = OPENS + timedelta(minutes=30)
    code, out, _err = cli("requests", "show", stale, key=alice, at=later)
    assert f"Request {stale} for production: approved" in out
    assert f"  not applied: refused: the plan differs from the one approved in request {stale}" \
        in out
    assert f"the server does not try it again until it is approved again (`flexor approve " \
           f"{stale}`), or make a new request" in out
    code, out, _err = cli("requests", "show", current, key=alice, at=later)
    assert f"Request {current} for production: applied" in out
    assert f"(applied by {SERVER})" in out

    code, out, err = cli("history", "--env", "production", key=alice, at=later)
    assert code == ExitCode.OK, err
    assert f": applied request {current} (requested by alice, approved by bob)" in out
    code, out, err = cli("history", "--env", "production", "--json", key=alice, at=later)
    assert f'"deployed_by": "{SERVER}"' in out
    code, out, _err = cli("status", "--env", "production", key=alice, at=later)
    assert "Agents: 0 active, 0 paused, 0 erroring, 1 not served" in out  # deployed; no server
