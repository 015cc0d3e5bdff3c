"""Webhook paths are unique per environment (the corpus covers each address's form)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.main import main
from tests.helpers.project import write_agent

TASKS = "  - skill: core.audit.log\n    args:\n      event: fired\n"


def _validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["validate", "--project-dir", str(root)])
    return code, [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]


def test_two_agents_on_one_webhook_path_are_an_error_at_the_second(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(project, "orders-in", TASKS, trigger="type: webhook\n  path: /hooks/orders")
    write_agent(project, "orders-too", TASKS, trigger="type: webhook\n  path: /hooks/orders")
    code, errors = _validate(project, capsys)
    assert code == ExitCode.FAILED
    assert errors == ["agents/orders-too.yaml:9:3: error: webhook path /hooks/orders is also "
                      "agent orders-in's in staging; give each agent its own `path` "
                      "[webhook-path-duplicate]"]


def test_a_path_equal_to_another_agents_default_path_is_a_duplicate(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(project, "orders-in", TASKS, trigger="type: webhook")
    write_agent(project, "sneaky", TASKS, trigger="type: webhook\n  path: /hooks/orders-in")
    code, errors = _validate(project, capsys)
    assert code == ExitCode.FAILED and len(errors) == 1
    assert "webhook path /hooks/orders-in is also agent orders-in's" in errors[0]


def test_distinct_paths_are_fine(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(project, "orders-in", TASKS, trigger="type: webhook")
    write_agent(project, "orders-out", TASKS, trigger="type: webhook\n  path: /hooks/out")
    assert _validate(project, capsys) == (ExitCode.OK, [])
