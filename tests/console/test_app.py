"""The console in process (no verb runs: buttons start a process, see
tests/engine/test_console.py): sign-in, sessions and their cookie, CSRF, security headers and
the pages' data, on the embedded control plane."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette

from flexor_iac.console.app import console_routes
from flexor_iac.controlplane.runs import LogLine, RunRecord
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.serve.http import application
from tests.helpers.api_server import api_server
from tests.helpers.flexor_serve import service
from tests.helpers.keys import issue_key

SPEC = {"spec": {"name": "feed-monitor", "version": "1.2", "vault": "company",
                 "environment": "staging", "description": "Watches the feeds.",
                 "trigger": {"type": "manual"}}}


@pytest.fixture
def keys(project: Path) -> dict[str, str]:
    with ControlPlane(locate(project)) as store:
        store.register_environment("staging", {"triggers": ["schedule", "manual"]})
        store.activate_agent("staging", "feed-monitor", "1.2", SPEC, "sha256:1")
        at = clock.now() - timedelta(minutes=5)
        store.record_run(RunRecord("run-1", "staging", "feed-monitor", "1.2", "company",
                                   "manual", at, "success", 1, 42, True,
                                   outputs={"stale": "<none>"}),
                         [LogLine(at, "info", "checked 3 feeds <ok>")])
        return {"reader": issue_key(store, "rita", "read", role="viewer"),
                "runner": issue_key(store, "otto", "read", "run:staging", role="operator")}


@pytest.fixture
def browser(project: Path, keys: dict[str, str], tmp_path: Path) -> Iterator[TestClient]:
    with api_server(project, tmp_path) as server:
        app = Starlette(routes=console_routes(server, secure=False))
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            yield client


def _sign_in(client: TestClient, key: str) -> str:
    """Sign in; the session's CSRF token."""
    form = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post("/console/signin", data={"key": key, "signin_token": token.group(1),
                                                  "next": "/environments"})
    assert signed.status_code == 303, signed.text
    page = client.get("/environments")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)


def test_without_a_session_every_page_sends_to_sign_in_and_shows_no_data(
        browser: TestClient) -> None:
    for path in ("/", "/environments", "/environments/staging/agents",
                 "/environments/staging/agents/feed-monitor", "/environments/staging/runs/run-1",
                 "/requests", "/audit", "/audit.csv"):
        answer = browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
        assert "feed-monitor" not in answer.text
    assert browser.get("/environments?fragment=1").status_code == 401
    signin = browser.get("/signin")
    assert "feed-monitor" not in signin.text and "API key" in signin.text
    assert signin.headers["content-security-policy"].startswith("default-src 'self'")
    assert signin.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in signin.headers["content-security-policy"]


def test_a_wrong_key_gets_the_form_again_and_no_data(browser: TestClient,
                                                     keys: dict[str, str]) -> None:
    form = browser.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token is not None
    wrong = browser.post("/console/signin", data={"key": keys["reader"][:-4] + "xxxx",
                                                  "signin_token": token.group(1)})
    assert wrong.status_code == 401 and "was not accepted" in wrong.text
    assert "flexor_session" not in wrong.headers.get("set-cookie", "")
    assert "feed-monitor" not in wrong.text
    assert browser.get("/environments").status_code == 303


def test_the_session_cookie_is_httponly_strict_and_expiring(browser: TestClient,
                                                            keys: dict[str, str]) -> None:
    form = browser.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = browser.post("/console/signin", data={"key": keys["reader"],
                                                   "signin_token": token.group(1)})
    cookie = next(c for c in signed.headers.get_list("set-cookie")
                  if c.startswith("flexor_session="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= flags
    assert "samesite=strict" in cookie.lower() and keys["reader"] not in cookie


def test_a_sign_in_without_the_forms_token_is_refused(browser: TestClient,
                                                      keys: dict[str, str]) -> None:
    refused = browser.post("/console/signin", data={"key": keys["reader"]})
    assert refused.status_code == 403
    assert "flexor_session" not in refused.headers.get("set-cookie", "")


def test_pages_list_agents_with_versions_runs_and_logs(browser: TestClient,
                                                       keys: dict[str, str]) -> None:
    _sign_in(browser, keys["reader"])
    environments = browser.get("/environments")
    assert "Environment: staging" in environments.text
    assert "Agents: 1 active, 0 paused, 0 erroring" in environments.text
    agents = browser.get("/environments/staging/agents")
    assert re.search(r"feed-monitor</a></th>.*?<td>company</td>.*?1\.2", agents.text, re.S)
    assert "feed-monitor" not in browser.get("/environments/staging/agents?state=paused").text
    assert "feed-monitor" not in browser.get("/environments/staging/agents?q=nothing").text
    agent = browser.get("/environments/staging/agents/feed-monitor")
    assert "run-1" in agent.text and "42 ms" in agent.text
    assert "Pause" not in agent.text  # a reader's key may not run:staging
    log = browser.get("/environments/staging/runs/run-1")
    assert "checked 3 feeds &lt;ok&gt;" in log.text  # autoescaped
    assert "&#34;stale&#34;: &#34;&lt;none&gt;&#34;" in log.text
    assert browser.get("/environments/nowhere/agents").status_code == 404
    csv = browser.get("/audit.csv")
    assert csv.text.splitlines()[0].startswith("run_id,agent_name,environment")
    assert "run-1" in csv.text
    assert "run-1" not in browser.get("/audit.csv?agent=other").text
    for path in ("/audit?from=someday", "/audit.csv?from=someday"):
        assert browser.get(path).status_code == 400


def test_buttons_show_for_keys_that_may_and_a_post_without_csrf_does_nothing(
        browser: TestClient, keys: dict[str, str], project: Path) -> None:
    _sign_in(browser, keys["runner"])
    agent = browser.get("/environments/staging/agents/feed-monitor")
    assert "Pause" in agent.text and "Run now" in agent.text
    for data in ({}, {"csrf": "forged"}):
        refused = browser.post("/console/environments/staging/agents/feed-monitor/pause",
                               data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    with ControlPlane(locate(project)) as store:
        found = store.active_agent("staging", "feed-monitor")
        assert found is not None and not found.paused


def test_sign_out_ends_the_session(browser: TestClient, keys: dict[str, str]) -> None:
    csrf = _sign_in(browser, keys["reader"])
    assert browser.post("/console/signout", data={}).status_code == 403
    out = browser.post("/console/signout", data={"csrf": csrf})
    assert out.status_code == 303 and 'flexor_session=""' in out.headers["set-cookie"]
    assert browser.get("/environments").status_code == 303


def test_served_beside_one_environments_webhooks_the_console_takes_no_webhook_path(
        project: Path, keys: dict[str, str], tmp_path: Path) -> None:
    with api_server(project, tmp_path) as server:
        app = application([service(project)], None, console_routes(server, secure=True))
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            assert client.get("/").headers["location"] == "/signin?next=/"
            hook = client.post("/hooks/feed-monitor", json={})
            assert hook.status_code == 401 and "webhook in staging" in hook.json()["error"]
            form = client.get("/signin")
            assert "secure" in form.headers["set-cookie"].lower()

