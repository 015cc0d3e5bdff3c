"""The server's applier of PLEXI-managed requests, on a frozen clock and a stand-in deploy:
which requests are due when, that an attempt is made once, how it is recorded, and what
`flexor requests show|list` say of its schedule. tests/engine/test_server_applies_requests.py
runs it in a real `flexor serve` on the real engine."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.access import windows
from flexor_iac.commands import applier
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import managed
from tests.helpers.cli import flexor_main

TUE_THU = windows.windows(None)
MONDAY = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # Monday 11:00 EDT
OPENS = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)  # Thursday 22:00 EDT
NEXT = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)  # the Tuesday after, 22:00 EDT
REQUEST = DeploymentRequest("R-1", "production", {"plan": {"changes": []}, "vaults": []},
                            "sha256:p", "alice", MONDAY, "approved", "bob",
                            MONDAY + timedelta(hours=49))


def test_windows_know_when_the_open_one_opened_and_when_the_next_one_opens() -> None:
    assert windows.opened_at(TUE_THU, OPENS + timedelta(minutes=42, seconds=5)) == OPENS
    assert windows.opened_at(TUE_THU, OPENS - timedelta(seconds=1)) is None
    assert windows.next_opening_after(TUE_THU, OPENS + timedelta(minutes=30)) == NEXT
    assert windows.next_opening_after(TUE_THU, OPENS - timedelta(seconds=30)) == OPENS


def test_an_approved_request_is_due_while_a_window_is_open_and_says_when() -> None:
    before = OPENS - timedelta(minutes=5)
    assert not managed.due(REQUEST, TUE_THU, before)
    assert managed.schedule(REQUEST, TUE_THU, before) == (
        "applies at 2026-03-13 02:00 UTC (Thu 2026-03-12 22:00 EDT) (by the server)")
    assert managed.due(REQUEST, TUE_THU, OPENS)
    assert managed.due(REQUEST, TUE_THU, OPENS + timedelta(minutes=59))
    assert not managed.due(REQUEST, TUE_THU, OPENS + timedelta(minutes=60))
    assert managed.schedule(REQUEST, TUE_THU, OPENS) == \
        "applies now (by the server: a window is open)"
    pending = replace(REQUEST, status="pending", approved_by=None, approved_at=None)
    assert not managed.due(pending, TUE_THU, OPENS)
    assert managed.schedule(pending, TUE_THU, MONDAY).startswith(
        "in staging review until 2026-03-11 15:00 UTC (Wed 2026-03-11 11:00 EDT); once another "
        "admin approves it, the server applies it in the next window")


def test_a_failed_attempt_is_tried_again_in_the_next_window_only() -> None:
    failed = replace(REQUEST, attempt="failed", attempted_at=OPENS + timedelta(seconds=20),
                     note="the engine failed")
    assert not managed.due(failed, TUE_THU, OPENS + timedelta(minutes=5))
    assert managed.schedule(failed, TUE_THU, OPENS + timedelta(minutes=5)) == (
        "the attempt at 2026-03-13 02:00 UTC (Thu 2026-03-12 22:00 EDT) did not apply it (the "
        "engine failed); the server tries again at 2026-03-18 02:00 UTC (Tue 2026-03-17 22:00 "
        "EDT)")
    assert managed.due(failed, TUE_THU, NEXT + timedelta(seconds=1))
    interrupted = replace(failed, attempt="applying", note="being applied")
    assert managed.schedule(interrupted, TUE_THU, OPENS + timedelta(minutes=5)).startswith(
        "being applied by the server since 2026-03-13 02:00 UTC")
    assert "(the server stopped); the server tries again at 2026-03-18 02:00 UTC" in \
        managed.schedule(interrupted, TUE_THU, OPENS + timedelta(hours=2))
    assert managed.due(interrupted, TUE_THU, NEXT)


@pytest.mark.parametrize("attempt", ["stale", "refused"])
def test_a_stale_or_refused_request_waits_for_a_new_approval(attempt: str) -> None:
    stopped = replace(REQUEST, attempt=attempt, attempted_at=OPENS, note="the plan differs")
    assert not any(managed.due(stopped, TUE_THU, at) for at in (OPENS, NEXT))
    assert managed.schedule(stopped, TUE_THU, NEXT) == (
        f"not applied: the plan differs ({attempt}, 2026-03-13 02:00 UTC (Thu 2026-03-12 22:00 "
        "EDT)); the server does not try it again until it is approved again (`flexor approve "
        "R-1`), or make a new request")
    assert managed.reapprovable(stopped)
    managed.check_approval(stopped, "carol", NEXT)  # another admin may hand it back


@pytest.mark.parametrize(("code", "error", "ending"), [
    (ExitCode.REFUSED, "refused: the plan differs from the one approved in request R-1 (…)",
     "stale"),
    (ExitCode.REFUSED, "refused: `flexor deploy` on production needs an API key with scope "
                       "deploy:production (FLEXOR_API_KEY)", "refused"),
    (ExitCode.REFUSED, "production is locked by another flexor operation: …", "failed"),
    (ExitCode.FAILED, "the update failed: …", "failed"),
    (ExitCode.FAILED, "", "failed"),
])
def test_how_an_attempt_that_did_not_apply_is_recorded(code: int, error: str,
                                                       ending: str) -> None:
    assert applier.outcome(applier.Deployed(code, error))[0] == ending


@pytest.fixture
def managed_project(project: Path) -> ProjectPaths:
    """The example project with a PLEXI-managed production and approved request R-1."""
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:managed: true\n")
    with ControlPlane(locate(project)) as store:
        store.add_request(replace(REQUEST, status="pending", approved_by=None,
                                  approved_at=None))
        store.approve_request("R-1", "bob", MONDAY + timedelta(hours=49))
    return ProjectPaths(project)


def _request(paths: ProjectPaths) -> DeploymentRequest:
    with ControlPlane(locate(paths.root)) as store:
        found = store.request("R-1")
    assert found is not None
    return found


def test_the_server_applies_a_due_request_once_as_the_approver(
        managed_project: ProjectPaths) -> None:
    calls: list[str] = []

    def deploy(paths: ProjectPaths, request: DeploymentRequest,
               say: applier.Say) -> applier.Deployed:
        calls.append(managed.server_actor(request))
        assert _request(paths).attempt == "applying"  # claimed before the deploy starts
        with ControlPlane(locate(paths.root)) as store:
            store.mark_request_applied(request.request_id, clock.now())
        return applier.Deployed(ExitCode.OK, "")

    said: list[str] = []
    with clock.frozen(OPENS - timedelta(minutes=1)):
        assert applier.apply_due(managed_project, said.append, deploy) == []
    with clock.frozen(OPENS + timedelta(seconds=3)):
        [attempt] = applier.apply_due(managed_project, said.append, deploy)
        assert applier.apply_due(managed_project, said.append, deploy) == []
    assert calls == ["flexor-server for bob (requested by alice)"]
    assert attempt == applier.Attempt("R-1", "applied",
                                      "applied by flexor-server for bob (requested by alice)")
    applied = _request(managed_project)
    assert (applied.status, applied.attempt) == ("applied", "applied")
    assert said[-1] == "request R-1: applied: applied by flexor-server for bob (requested by " \
                       "alice)"


def test_a_stale_request_stays_open_says_why_and_waits_for_approval(
        managed_project: ProjectPaths, capsys: pytest.CaptureFixture[str]) -> None:
    stale = "refused: the plan differs from the one approved in request R-1 (the project or " \
            "production changed since); make a new request"
    tried: list[datetime] = []

    def deploy(_paths: ProjectPaths, _request: DeploymentRequest,
               _say: applier.Say) -> applier.Deployed:
        tried.append(clock.now())
        return applier.Deployed(ExitCode.REFUSED, stale)

    with clock.frozen(OPENS):
        assert [a.outcome for a in applier.apply_due(managed_project, print, deploy)] == \
            ["stale"]
    with clock.frozen(NEXT):
        assert applier.apply_due(managed_project, print, deploy) == []
        capsys.readouterr()
        assert flexor_main(managed_project.root, "requests", "show", "R-1") == ExitCode.OK
        shown = capsys.readouterr().out
        assert flexor_main(managed_project.root, "requests", "list", "--json") == ExitCode.OK
        listed = json.loads(capsys.readouterr().out)
    assert f"  not applied: {stale} (stale, 2026-03-13 02:00 UTC" in shown
    assert "Request R-1 for production: approved" in shown
    assert (listed[0]["attempt"], listed[0]["note"]) == ("stale", stale)
    assert listed[0]["scheduled"].startswith(f"not applied: {stale}")
    with clock.frozen(NEXT + timedelta(minutes=1)):
        assert flexor_main(managed_project.root, "approve", "R-1") == ExitCode.OK
        assert "Approved R-1 again. The server (`flexor serve --env production`) applies it " \
               "at 2026-03-18 02:01 UTC" in capsys.readouterr().out
        assert flexor_main(managed_project.root, "requests", "show", "R-1") == ExitCode.OK
        assert "  applies now (by the server: a window is open); no server serves production " \
               "now: start `flexor serve --env production`, or apply it by hand in a window" \
            in capsys.readouterr().out
        assert [a.outcome for a in applier.apply_due(managed_project, print, deploy)] == \
            ["stale"]
    assert tried == [OPENS, NEXT + timedelta(minutes=1)]


def test_nothing_is_due_where_production_is_not_managed(project: Path) -> None:
    with ControlPlane(locate(project)) as store:
        store.add_request(replace(REQUEST, status="pending"))
        store.approve_request("R-1", "bob", MONDAY)
    with clock.frozen(OPENS):
        assert applier.due(ProjectPaths(project)) == []
