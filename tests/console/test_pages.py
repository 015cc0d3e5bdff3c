"""The console's pages of deployments, rollback and requests in process, on the embedded
control plane and a file backend written as Pulumi writes it; and sessions' expiry."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette

from flexor_iac.access.policy import Principal
from flexor_iac.console import sessions
from flexor_iac.console.app import console_routes
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.workspace import ProjectPaths
from tests.helpers.api_server import api_server
from tests.helpers.keys import issue_key

SPEC = {"spec": {"name": "feed-monitor", "version": "1.1", "vault": "company",
                 "trigger": {"type": "manual"}, "description": "Watches the feeds."}}
RETAINED = [{"version": "1.0", "deployed_at": "2026-05-01T10:00:00+00:00",
             "deployed_by": "alice"},
            {"version": "1.1", "deployed_at": "2026-05-02T10:00:00+00:00",
             "deployed_by": "bob"}]


def _write_state(root: Path) -> None:
    """A stack's checkpoint and two updates, as Pulumi's file backend keeps them."""
    state = ProjectPaths(root).backend_dir / ".pulumi"
    agent = {"type": "pulumi-python:dynamic/flexor:Agent",
             "urn": "urn:pulumi:staging::flexor::pulumi-python:dynamic/flexor:Agent::"
                    "feed-monitor",
             "inputs": {"name": "feed-monitor", "version": "1.1"},
             "outputs": {"retained": RETAINED}}
    (state / "stacks" / "flexor").mkdir(parents=True)
    (state / "stacks" / "flexor" / "staging.json").write_text(json.dumps(
        {"version": 3, "checkpoint": {"stack": "staging", "latest": {"resources": [agent]}}}))
    history = state / "history" / "flexor" / "staging"
    history.mkdir(parents=True)
    for stamp, message in ((1777629600, "flexor deploy --env staging: feed-monitor + → 1.0"),
                           (1777716000, "flexor deploy --env staging: feed-monitor 1.0 → 1.1")):
        (history / f"staging-{stamp}000000000.history.json").write_text(json.dumps(
            {"kind": "update", "startTime": stamp, "endTime": stamp + 5, "message": message,
             "result": "succeeded"}))
        (history / f"staging-{stamp}000000000.checkpoint.json").write_text("{}")


@pytest.fixture
def keys(project: Path) -> dict[str, str]:
    _write_state(project)
    with ControlPlane(locate(project)) as store:
        store.register_environment("staging", {"triggers": ["manual"]})
        store.activate_agent("staging", "feed-monitor", "1.1", SPEC, "sha256:1")
        store.add_request(DeploymentRequest(
            "R-1", "production", {"plan": {"changes": [
                {"op": "~", "kind": "Agent", "resource": "feed-monitor", "from_version": "1.0",
                 "to_version": "1.1"}]}, "vaults": ["company"]}, "sha256:p", "alice",
            clock.now() - timedelta(hours=1), "pending"))
        store.add_request(DeploymentRequest(
            "R-2", "production", {"plan": {"changes": []}, "vaults": ["company"]}, "sha256:q",
            "alice", clock.now() - timedelta(days=5), "pending"))
        store.approve_request("R-2", "carl", clock.now() - timedelta(days=2))
        store.record_attempt("R-2", "stale", "the plan differs")
        return {"alice": issue_key(store, "alice", "admin", "read"),
                "bob": issue_key(store, "bob", "admin", "read", "deploy:staging")}


@pytest.fixture
def browser(project: Path, keys: dict[str, str], tmp_path: Path) -> Iterator[TestClient]:
    with api_server(project, tmp_path) as server:
        app = Starlette(routes=console_routes(server, secure=False))
        with TestClient(app, follow_redirects=False) as client:
            yield client


def _sign_in(client: TestClient, key: str) -> None:
    token = re.search(r'name="signin_token" value="([^"]+)"', client.get("/signin").text)
    assert token is not None
    assert client.post("/console/signin", data={"key": key, "signin_token": token.group(
        1)}).status_code == 303


@pytest.mark.embedded  # the Pulumi state's files as the file backend keeps them
def test_deployments_show_each_update_who_deployed_it_and_a_rollback_to_confirm(
        browser: TestClient, keys: dict[str, str]) -> None:
    _sign_in(browser, keys["bob"])
    page = browser.get("/environments/staging/deployments").text
    assert re.search(r"2026-05-02 10:00 UTC</th><td>deploy</td><td>succeeded</td>\s*"
                     r"<td><ul class=\"plain\"><li>feed-monitor 1.0 → 1.1</li></ul>.*?"
                     r"<td>bob</td>", page, re.S), page
    assert "Roll back…" in page
    agent = browser.get("/environments/staging/agents/feed-monitor").text
    assert "1.1 (current)" in agent and "Roll back to 1.0" in agent
    confirm = browser.get("/environments/staging/agents/feed-monitor/rollback?version=1.0")
    assert "flexor rollback --agent feed-monitor --env staging --yes --version 1.0" in \
        confirm.text
    assert 'name="csrf"' in confirm.text
    status = browser.get("/environments").text
    assert "Last deployment: 2026-05-02 10:00 UTC" in status


def test_requests_show_the_plan_and_offer_decisions_only_to_another_admin(
        browser: TestClient, keys: dict[str, str]) -> None:
    _sign_in(browser, keys["alice"])
    mine = browser.get("/requests").text
    assert "~ Agent feed-monitor 1.0 → 1.1" in mine and "Review ends" in mine
    assert "/approve" not in mine and "/reject" not in mine
    assert "someone other than alice" in mine
    browser.cookies.clear()
    _sign_in(browser, keys["bob"])
    theirs = browser.get("/requests/R-1").text
    assert "/console/requests/R-1/approve" in theirs and "/console/requests/R-1/reject" in theirs
    assert browser.get("/requests/R-404").status_code == 404
    handed_back = browser.get("/requests/R-2").text
    assert "Approve again" in handed_back and "/console/requests/R-2/reject" not in handed_back
    assert browser.post("/console/requests/R-2/reject", data={}).status_code == 403
    browser.cookies.clear()
    nothing = browser.post("/console/requests/R-2/approve", data={})
    assert nothing.status_code == 303 and nothing.headers["location"] == "/signin"


def test_a_session_ends_when_unused_too_long_or_too_old(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    now = [1000.0]
    monkeypatch.setattr(sessions.time, "monotonic", lambda: now[0])
    kept = sessions.Sessions()
    opened = kept.open("secret", Principal("rita", "k1", frozenset({"read"})))
    assert len(opened.session_id) >= 43 and opened.token == "secret"
    now[0] += sessions.IDLE - 1
    assert kept.get(opened.session_id) is opened
    now[0] += sessions.IDLE + 1
    assert kept.get(opened.session_id) is None
    old = kept.open("secret", Principal("rita", "k1", frozenset({"read"})))
    for _ in range(3):
        now[0] += sessions.LIFETIME / 3
        assert kept.get(old.session_id) is old  # used all along: only its age ends it
    now[0] += 1
    assert kept.get(old.session_id) is None
