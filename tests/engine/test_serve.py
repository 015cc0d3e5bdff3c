"""`flexor serve` as a user runs it, on the real clock: after a real deploy a `* * * * *` agent
records a scheduled run within 70 s, a webhook starts a run (and once access control is on,
only with a key), an emitted event starts exactly the matching agents, a second server of the
environment is refused, SIGTERM stops it cleanly; in team mode a killed server's run finishes
on another, once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from flexor_iac.controlplane.runs import RunQuery, RunRecord
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor, flexor_ok
from tests.helpers.http_servers import serving
from tests.helpers.keys import issue_key
from tests.helpers.project import allow_loopback, write_agent
from tests.helpers.runtime import STAGING, install
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine
PROBE = "  - skill: core.audit.log\n    args:\n      event: probe\n"
FLEXOR = str(Path(sys.executable).parent / "flexor")


class Server:
    """A `flexor serve` child process and the lines it printed."""

    def __init__(self, project: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [FLEXOR, "serve", "--env", "staging", "--port", "0", *args], cwd=project,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL, env=dict(os.environ))
        self.lines: list[str] = []
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        daemon=True)
        self._reader.start()
        self.url = self._address()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def _address(self) -> str:
        def said() -> str | None:
            for line in self.lines:
                if line.startswith("Serving staging on "):
                    return line.split(" on ", 1)[1].split(":", 2)[0] + ":" + \
                        line.split(" on ", 1)[1].split(":", 2)[1] + ":" + \
                        line.split(" on ", 1)[1].split(":", 2)[2].split(":")[0]
            assert self.process.poll() is None, f"flexor serve ended: {self.lines}"
            return None
        return eventually(said, lambda: f"flexor serve did not start: {self.lines}",
                          timeout=60, interval=0.1)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self._reader.join(10)
        return code


@contextmanager
def served(project: Path, *args: str) -> Iterator[Server]:
    server = Server(project, *args)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(30)


def staging_runs(project: Path) -> list[RunRecord]:
    with ControlPlane(locate(project)) as store:
        return store.runs(RunQuery(environment="staging"))


def wait_for(project: Path, found: Any, seconds: float, what: str) -> list[RunRecord]:
    return eventually(lambda: [run for run in staging_runs(project) if found(run)] or None,
                      f"no {what}", timeout=seconds, interval=0.25)


def test_serve_fires_schedules_webhooks_and_events_of_a_real_deploy(project: Path) -> None:
    for agent in (project / "agents").glob("*.yaml"):
        agent.unlink()
    write_agent(project, "minutely", PROBE, trigger='type: schedule\n  cron: "* * * * *"')
    write_agent(project, "hooked", PROBE, trigger="type: webhook")
    for name, fund in (("positions", "GLOBAL-EQ-1"), ("other-fund", "OTHER")):
        write_agent(project, name, PROBE, trigger="type: event\n  source: plexifact\n"
                    f"  event: fund.positions.updated\n  filter:\n    fund_id: {fund}")
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    before = json.loads(flexor_ok(project, "status", "--env", "staging", "--json").stdout)
    assert before["agents"]["unserved"] == 4 and before["servers"] == []

    with served(project) as server:
        second = flexor(project, "serve", "--env", "staging", "--port", "0")
        assert second.returncode == ExitCode.REFUSED
        assert "a server already serves staging" in second.stderr
        assert f"pid {server.process.pid}" in second.stderr

        status = json.loads(flexor_ok(project, "status", "--env", "staging", "--json").stdout)
        assert status["agents"]["unserved"] == 0 and len(status["servers"]) == 1
        [schedule] = status["schedules"]
        assert schedule["agent"] == "minutely" and schedule["next_fire"]

        answer = httpx.post(f"{server.url}/hooks/hooked", json={"fund_id": "GLOBAL-EQ-1"})
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run_id"]
        wait_for(project, lambda r: r.run_id == run_id, 20, "webhook run")

        with ControlPlane(locate(project)) as store:  # access control comes on while serving
            key = issue_key(store, "ci", "run:staging")
        assert httpx.post(f"{server.url}/hooks/hooked", json={}).status_code == 401
        keyed = httpx.post(f"{server.url}/hooks/hooked", json={},
                           headers={"Authorization": f"Bearer {key}"})
        assert keyed.status_code == 202
        wait_for(project, lambda r: r.run_id == keyed.json()["run_id"], 20, "keyed run")

        emitted = flexor_ok(project, "plexifact", "emit", "--env", "staging",
                            "fund.positions.updated", "--data", "fund_id=GLOBAL-EQ-1")
        assert "positions" in emitted.stdout
        wait_for(project, lambda r: r.trigger_type == "event", 20, "event run")

        scheduled = wait_for(project, lambda r: r.trigger_type == "schedule", 70,
                             "scheduled run")
        assert scheduled[0].agent == "minutely" and scheduled[0].status == "success"
        code = server.stop()
    assert code == ExitCode.OK, server.lines
    assert server.lines[-1] == "Stopped serving staging."
    events = [r.agent for r in staging_runs(project) if r.trigger_type == "event"]
    assert events == ["positions"]
    assert json.loads(flexor_ok(project, "status", "--env", "staging", "--json").stdout)[
        "servers"] == []


class _Slow(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts += 1  # type: ignore[attr-defined]
        time.sleep(self.server.delay)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def test_a_run_of_a_killed_server_finishes_on_another_once(
        project: Path, team_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-team-passphrase")
    slow = HTTPServer(("127.0.0.1", 0), _Slow)
    slow.posts, slow.delay = 0, 4.0  # type: ignore[attr-defined]
    allow_loopback(project)
    write_agent(project, "slow", "  - skill: core.notify.webhook\n    args:\n"
                f"      url: http://127.0.0.1:{slow.server_port}/slow\n"
                "      payload: {hello: world}\n", trigger="type: webhook")
    install(project, STAGING).close()
    with serving(slow), served(project, "--lease", "2s") as first:
        answer = httpx.post(f"{first.url}/hooks/slow", json={})
        assert answer.status_code == 202
        run_id = answer.json()["run_id"]
        eventually(lambda: slow.posts > 0,  # type: ignore[attr-defined]
                   "the run never sent its notification", timeout=20)
        first.process.kill()  # kill -9 mid-run (its notification is being sent)
        first.process.wait(10)
        assert staging_runs(project) == []
        with served(project, "--lease", "2s") as second:
            [record] = wait_for(project, lambda r: r.run_id == run_id, 60, "taken-over run")
            second.stop()
    assert record.status == "success"
    with ControlPlane(locate(project)) as store:
        log = [line.message for line in store.run_log(run_id)]
        assert len(store.runs(RunQuery(environment="staging", agent="slow"))) == 1
    assert any("taken over: delivery 2 of this job" in line for line in log), log
    assert any("run(s) of a server that stopped queued again" in line
               for line in second.lines), second.lines
