"""The operator console in a real headless Chromium (Playwright), served by a real `flexor
serve` in team mode on PostgreSQL: sign-in, the agents with their versions, a run's log,
pause, resume and roll back, a run list that refreshes by itself, a request approved by a
second admin and refused to its maker; no data without a session or with a wrong key; an
HttpOnly session cookie; a POST without the CSRF token refused."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from tests.helpers.browser import chromium, csrf_of, sign_in
from tests.helpers.keys import issue_key
from tests.helpers.team_server import FLEXOR, server_environment, team_server

pytestmark = pytest.mark.engine


def flexor_on_server(root: Path, database: str, key: str, *args: str) -> str:
    """`flexor ARGS` where the database is, with `key`; its output (it must succeed)."""
    done = subprocess.run([FLEXOR, *args], cwd=root, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL,
                          env=server_environment(database, FLEXOR_API_KEY=key))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def paused(database: str) -> bool:
    with ControlPlane(database, create=False) as store:
        agent = store.active_agent("staging", "feed-monitor")
    assert agent is not None
    return agent.paused


def test_an_operator_signs_in_reads_agents_and_logs_and_pauses_and_resumes(
        project: Path, team_database: str) -> None:
    with ControlPlane(team_database) as store:
        admin = issue_key(store, "olga", "admin", "read", "deploy:staging", "run:staging")
    flexor_on_server(project, team_database, admin, "sync", "--all")
    flexor_on_server(project, team_database, admin, "deploy", "--env", "staging", "--yes")
    flexor_on_server(project, team_database, admin, "plexifact", "load", "--env", "staging")
    agent_file = project / "agents" / "feed-monitor.yaml"
    agent_file.write_text(agent_file.read_text().replace('version: "1.0"', 'version: "1.1"'))
    flexor_on_server(project, team_database, admin, "deploy", "--env", "staging", "--yes")
    subprocess.run([FLEXOR, "run", "feed-monitor", "--now", "--env", "staging"], cwd=project,
                   capture_output=True, timeout=300, stdin=subprocess.DEVNULL,
                   env=server_environment(team_database, FLEXOR_API_KEY=admin))
    with team_server(project, team_database) as server, chromium() as browser:
        address = server.address.rstrip(":")  # "Serving staging on http://…:PORT: …"
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{address}/environments/staging/agents")
        assert page.url == f"{address}/signin?next=/environments/staging/agents"
        assert "feed-monitor" not in page.content()

        sign_in(page, address, admin[:-4] + "xxxx")
        assert "That key was not accepted" in page.content()
        assert "feed-monitor" not in page.content()
        assert not [c for c in context.cookies() if c["name"] == "flexor_session"]

        sign_in(page, address, admin)
        assert page.url == f"{address}/environments"
        assert "Environment: staging" in page.inner_text("main")
        assert "Last deployment: never" not in page.inner_text("main")  # read from pulumi_state
        page.goto(f"{address}/environments/staging/agents")
        cookie = next(c for c in context.cookies() if c["name"] == "flexor_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert admin not in cookie["value"]
        row = page.get_by_role("row", name=re.compile("feed-monitor"))
        assert "1.1" in row.inner_text() and "company" in row.inner_text()

        row.get_by_role("link", name="feed-monitor").click()
        assert page.get_by_role("heading", name="Versions").is_visible()
        assert "1.1 (current)" in page.inner_text("main")  # the stack's retained versions
        page.locator("table.runs a").first.click()
        assert "/environments/staging/runs/" in page.url
        assert page.get_by_label("Log lines").inner_text().strip()

        forged = context.request.post(
            f"{address}/console/environments/staging/agents/feed-monitor/pause",
            form={"csrf": "forged"})
        assert forged.status == 403 and not paused(team_database)

        page.goto(f"{address}/environments/staging/agents/feed-monitor")
        page.get_by_role("button", name="Pause").click()
        assert "Exit 0: done" in page.inner_text("main"), page.inner_text("main")
        assert paused(team_database)
        page.goto(f"{address}/environments/staging/agents?state=paused")
        assert page.get_by_role("row", name=re.compile("feed-monitor")).is_visible()
        page.goto(f"{address}/environments/staging/agents/feed-monitor")
        page.get_by_role("button", name="Resume").click()
        assert "Exit 0: done" in page.inner_text("main")
        assert not paused(team_database)

        page.goto(f"{address}/environments/staging/agents/feed-monitor")
        page.get_by_role("link", name="Roll back to 1.0").click()
        assert "flexor rollback --agent feed-monitor --env staging --yes --version 1.0" in \
            page.inner_text("main")
        page.get_by_role("button", name="Roll back").click()
        assert "Exit 0: done" in page.inner_text("main"), page.inner_text("main")
        page.goto(f"{address}/environments/staging/agents/feed-monitor")
        assert "Held at 1.0, rolled back from 1.1." in page.inner_text("main")

        runs = page.locator("table.runs tbody tr")
        shown = runs.count()
        subprocess.run([FLEXOR, "run", "feed-monitor", "--now", "--env", "staging"],
                       cwd=project, capture_output=True, timeout=300, stdin=subprocess.DEVNULL,
                       env=server_environment(team_database, FLEXOR_API_KEY=admin))
        expect(runs).to_have_count(shown + 1, timeout=20_000)  # live: no reload

        page.get_by_role("button", name="Sign out").click()
        page.goto(f"{address}/environments")
        assert "/signin" in page.url and "staging" not in page.inner_text("main")


def test_a_request_is_approved_by_a_second_admin_and_refused_to_its_maker(
        project: Path, team_database: str) -> None:
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:managed: true\n")
    with ControlPlane(team_database) as store:
        alice = issue_key(store, "alice", "admin", "read", "deploy:staging",
                          "deploy:production")
        bob = issue_key(store, "bob", "admin", "read", "deploy:production")
        serving = issue_key(store, "flexor-server", "run:staging", "run:production",
                            "deploy:production")
    flexor_on_server(project, team_database, bob, "sync", "--vault", "company")
    made = flexor_on_server(project, team_database, alice, "deploy", "--env", "production",
                            "--yes")
    request = made.split("Request ")[1].split(" ")[0]
    after_review = (clock.now() + timedelta(hours=49)).isoformat()
    with team_server(project, team_database, FLEXOR_CLOCK=after_review,
                     FLEXOR_API_KEY=serving) as server, \
            chromium() as browser:
        address = server.address.rstrip(":")  # "Serving staging on http://…:PORT: …"
        maker = browser.new_context().new_page()
        sign_in(maker, address, alice)
        maker.goto(f"{address}/requests")
        section = maker.get_by_role("region", name=re.compile(request))
        assert "feed-monitor" in section.locator("pre.plan").inner_text()
        assert not section.get_by_role("button", name="Approve").count()
        refused = maker.context.request.post(f"{address}/console/requests/{request}/approve",
                                             form={"csrf": csrf_of(maker)})
        assert refused.status == 200 and "Exit 3: refused by policy" in refused.text()
        assert f"alice made request {request}; someone else must approve it" in refused.text()

        second = browser.new_context().new_page()
        sign_in(second, address, bob)
        second.goto(f"{address}/requests")
        second.get_by_role("region", name=re.compile(request)).get_by_role(
            "button", name="Approve").click()
        assert "Exit 0: done" in second.inner_text("main"), second.inner_text("main")
        assert f"Approved {request}" in second.inner_text("main")
    with ControlPlane(team_database, create=False) as store:
        approved = store.request(request)
    assert approved is not None and approved.approved_by == "bob"
