"""`flexor rollback` and `flexor history` in this process, on fake stacks (tests/helpers/
stacks.py); tests/commands/test_rollback.py runs them on the real engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.stacks import use_fake_stacks


def _flexor(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """`flexor ARGS` in process, which must exit 0; its stdout lines."""
    capsys.readouterr()
    code = flexor_main(project, *args)
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    return out.splitlines()


def test_a_rollback_goes_back_holds_and_the_next_deploy_keeps_the_hold(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_fake_stacks(monkeypatch)
    _flexor(project, capsys, "sync", "--vault", "company")
    _flexor(project, capsys, "deploy", "--env", "staging", "--yes")
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "1.1"')
                     .replace("max_attempts: 2", "max_attempts: 3"))
    _flexor(project, capsys, "deploy", "--env", "staging", "--yes")
    back = _flexor(project, capsys, "rollback", "--agent", "feed-monitor", "--env", "staging",
                   "--yes")
    assert " ~ Agent feed-monitor  1.1 → 1.0  (hold, spec.retry)" in back
    assert back[-1] == ("Rolled feed-monitor back to 1.0 in staging; held there while its "
                        "file says 1.1.")
    again = _flexor(project, capsys, "deploy", "--env", "staging", "--yes")
    assert "   held agent feed-monitor at 1.0 (rolled back from 1.1)" in again
    assert "No changes." in again
    history = json.loads("\n".join(_flexor(project, capsys, "history", "--env", "staging",
                                           "--json")))
    assert [row["kind"] for row in history["updates"]] == ["rollback", "deploy", "deploy"]
    roster = _flexor(project, capsys, "agents", "list", "--env", "staging")
    assert roster[1].split()[:5] == ["feed-monitor", "schedule", "production", "active", "1.0"]
