"""`flexor status` reads the newest deployment from the state's history files, on the
embedded `file://` backend and on the team database's table: no engine process, the same
answer the engine gives, however long the history."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment
from flexor_iac.core.moments import utc
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import sessions
from tests.helpers.cli import flexor_main

pytestmark = pytest.mark.engine


def test_status_says_the_engines_last_deployment_without_starting_it(
        store_kind: str, project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert flexor_main(project, "sync", "--all") == 0
    for _ in range(2):
        assert flexor_main(project, "deploy", "--env", "staging", "--yes") == 0
    updates = sessions.open_stack(ProjectPaths(project), Environment.STAGING).history()
    newest = next(h for h in updates if h.kind == "update" and h.result == "succeeded")
    capsys.readouterr()

    def no_engine(*_args: object) -> None:
        raise AssertionError("status started the engine")
    monkeypatch.setattr(sessions, "open_stack", no_engine)
    assert flexor_main(project, "status", "--env", "staging") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == f"Last deployment: {utc(newest.end_time or newest.start_time)}"
    assert flexor_main(project, "status", "--env", "production") == 0
    assert capsys.readouterr().out.splitlines()[2] == "Last deployment: never"
