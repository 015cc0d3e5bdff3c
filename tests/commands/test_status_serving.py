"""`flexor status` counts only what is true: an agent only `flexor serve` fires is not active
while no server of its environment runs; --json gives the servers and each schedule's last
tick and next fire time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.controlplane.serving import ServerRecord
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.runtime import STAGING, install
from tests.helpers.stacks import use_fake_stacks

NOW = datetime(2026, 5, 4, 9, 10, 20, tzinfo=UTC)


def _status(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    with clock.frozen(NOW):
        code = flexor_main(project, "status", "--env", "staging", *extra)
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    return out


@pytest.fixture
def deployed(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_fake_stacks(monkeypatch)
    install(project, STAGING).close()  # feed-monitor: a schedule, */30
    return project


def test_a_scheduled_agent_with_no_server_is_not_counted_active(
        deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _status(deployed, capsys).splitlines()[1]
    assert line == ("Agents: 0 active, 0 paused, 0 erroring, 1 not served "
                    "(no `flexor serve --env staging` running)")


def test_with_a_live_server_it_is_active_and_json_gives_its_next_fire(
        deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ControlPlane(locate(deployed)) as store:
        store.register_server(ServerRecord("s1", "staging", "runner-1", 4242,
                                           "http://127.0.0.1:8470", NOW - timedelta(hours=1),
                                           NOW - timedelta(seconds=5)))
        store.advance_tick("staging", "feed-monitor", NOW.replace(minute=0, second=0))
    assert _status(deployed, capsys).splitlines()[1] == "Agents: 1 active, 0 paused, 0 erroring"
    doc = json.loads(_status(deployed, capsys, "--json"))
    assert doc["agents"]["unserved"] == 0
    assert [s["host"] for s in doc["servers"]] == ["runner-1"]
    assert doc["schedules"] == [{"agent": "feed-monitor", "cron": "*/30 * * * *",
                                 "timezone": "UTC", "last_tick": "2026-05-04T09:00:00+00:00",
                                 "next_fire": "2026-05-04T09:30:00+00:00"}]


def test_a_server_whose_heartbeat_stopped_does_not_count(
        deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ControlPlane(locate(deployed)) as store:
        store.register_server(ServerRecord("s1", "staging", "runner-1", 4242, "",
                                           NOW - timedelta(hours=1),
                                           NOW - timedelta(minutes=5)))
    assert "1 not served" in _status(deployed, capsys).splitlines()[1]
