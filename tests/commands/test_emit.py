"""`flexor plexifact emit`: the event recorded, the deployed agents it matches, refusals (in
process, on a project installed without the engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import Environment, ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.keys import issue_key
from tests.helpers.project import write_agent
from tests.helpers.runtime import install

STAGING = Environment.STAGING
EVENT = "fund.positions.updated"
BODY = "  - skill: core.audit.log\n    args: {event: positions}\n"


def _on_event(project: Path, name: str, *lines: str) -> None:
    """An agent with an event trigger on EVENT (plus `lines` of the trigger)."""
    extra = "".join(f"\n  {line}" for line in lines)
    write_agent(project, name, BODY, trigger=f"type: event\n  source: plexifact\n  "
                                            f"event: {EVENT}{extra}")


@pytest.fixture
def deployed(project: Path) -> Path:
    """Staging with four event agents (one for another fund, one paused) and feed-monitor."""
    _on_event(project, "positions", "filter:", "  fund_id: GLOBAL-EQ-1")
    _on_event(project, "any-fund")
    _on_event(project, "other-fund", "filter:", "  fund_id: [EU-BOND-2, US-EQ-3]")
    _on_event(project, "held")
    with install(project, STAGING) as store:
        store.set_paused(STAGING.value, "held", True)
    return project


def _events(project: Path) -> list[tuple[int, str, str, dict[str, object], str]]:
    with ControlPlane(locate(project)) as store:
        return [(e.id, e.name, e.source, e.data, e.emitted_by)
                for e in store.events_after(STAGING.value, 0, 100)]


def _emit(project: Path, *args: str) -> int:
    return flexor_main(project, "plexifact", "emit", "--env", "staging", *args)


def test_the_event_is_recorded_and_the_agents_it_fires_are_named(
        deployed: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_ACTOR", "olga")
    assert _emit(deployed, EVENT, "--data", "fund_id=GLOBAL-EQ-1", "--data",
                 "rows=3") == ExitCode.OK
    out, err = capsys.readouterr()
    assert out == (f"Recorded event {EVENT} (#1) in staging: 2 deployed agent(s) match: "
                   "any-fund, positions (paused, so not run: held).\n")
    assert err == ""
    assert _events(deployed) == [(1, EVENT, "plexifact",
                                  {"fund_id": "GLOBAL-EQ-1", "rows": "3"}, "olga")]
    assert _emit(deployed, EVENT, "--data", "fund_id=US-EQ-3", "--data", "note=a=b") == 0
    assert capsys.readouterr().out == (f"Recorded event {EVENT} (#2) in staging: 2 deployed "
                                       "agent(s) match: any-fund, other-fund (paused, so not "
                                       "run: held).\n")
    assert _events(deployed)[1][3] == {"fund_id": "US-EQ-3", "note": "a=b"}


def test_json_is_the_recorded_event_and_its_matches(
        deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _emit(deployed, EVENT, "--data", "fund_id=EU-BOND-2", "--json") == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == {
        "environment": "staging", "event": EVENT, "id": 1, "source": "plexifact",
        "data": {"fund_id": "EU-BOND-2"}, "matching": ["any-fund", "other-fund"],
        "paused": ["held"]}


def test_an_event_no_agent_waits_for_says_so(deployed: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _emit(deployed, "feed.refreshed", "--source", "custodian") == ExitCode.OK
    assert capsys.readouterr().out == ("Recorded event feed.refreshed (#1) in staging: no "
                                       "deployed agent matches.\n")
    assert _emit(deployed, EVENT, "--source", "custodian") == ExitCode.OK  # source: plexifact
    assert capsys.readouterr().out.endswith("(#2) in staging: no deployed agent matches.\n")
    assert [event[2] for event in _events(deployed)] == ["custodian", "custodian"]


def test_an_environment_without_event_triggers_is_warned_about(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = project / "Pulumi.staging.yaml"
    stack.write_text(stack.read_text().replace("[schedule, event, webhook, manual]",
                                               "[schedule, webhook, manual]"))
    _on_event(project, "any-fund")
    install(project, STAGING).close()
    assert _emit(project, EVENT) == ExitCode.OK
    out, err = capsys.readouterr()
    assert out.endswith("1 deployed agent(s) match: any-fund.\n")
    assert err == ("warning: staging does not fire event triggers: this event runs no agent "
                   "until flexor:triggers in Pulumi.staging.yaml includes event\n")


@pytest.mark.parametrize("name", ["fund", "fund.", ".fund", "fund..positions", "fund positions.x",
                                  "fund.positions-updated", "fund.x\n", ""])
def test_a_bad_event_name_is_a_usage_error_and_records_nothing(
        deployed: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert _emit(deployed, name) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: event ") and err.count("\n") == 1, err
    assert "expected a dotted name such as fund.positions.updated" in err
    assert _events(deployed) == []


@pytest.mark.parametrize("args, message", [
    (("--data", "novalue"), "--data 'novalue': expected NAME=VALUE"),
    (("--data", "=x"), "--data '=x': expected NAME=VALUE"),
    (("--source", " "), "--source must not be empty"),
])
def test_bad_data_or_source_is_a_usage_error(deployed: Path, capsys: pytest.CaptureFixture[str],
                                             args: tuple[str, ...], message: str) -> None:
    assert _emit(deployed, EVENT, *args) == ExitCode.USAGE
    assert capsys.readouterr().err == f"error: {message}\n"
    assert _events(deployed) == []


def test_an_environment_without_a_catalog_is_refused(project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    stack = project / "Pulumi.staging.yaml"
    stack.write_text("".join(line for line in stack.read_text().splitlines(keepends=True)
                             if "flexor:catalog" not in line))
    assert _emit(project, EVENT) == ExitCode.FAILED
    assert capsys.readouterr().err == ("error: staging has no PlexiFact catalog (set "
                                       "flexor:catalog in Pulumi.staging.yaml)\n")
    assert _events(project) == []


def test_where_keys_are_required_emitting_needs_scope_run(
        deployed: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = deployed / "Pulumi.staging.yaml"
    stack.write_text(stack.read_text() + "  flexor:requireApiKey: true\n")
    with ControlPlane(locate(deployed)) as store:
        reader = issue_key(store, "rita", "read")
        runner = issue_key(store, "ci-bot", "run:staging")
    for token in ("", reader):
        monkeypatch.setenv("FLEXOR_API_KEY", token)
        assert _emit(deployed, EVENT) == ExitCode.REFUSED
        assert capsys.readouterr().err == (
            "error: refused: `flexor plexifact emit` on staging needs an API key with scope "
            "run:staging (FLEXOR_API_KEY)\n")
    assert _events(deployed) == []
    monkeypatch.setenv("FLEXOR_API_KEY", runner)
    assert _emit(deployed, EVENT) == ExitCode.OK
    assert _events(deployed) == [(1, EVENT, "plexifact", {}, "ci-bot")]
