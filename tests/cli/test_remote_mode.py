"""The CLI's remote mode on a terminal: a rollback asks about the version its dry run named,
and rolls back to exactly that one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from flexor_iac.cli import remote_mode
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.remote.protocol import rollback_target, rollback_target_line


@dataclass
class Ran:
    exit_code: int


class Server:
    """Answers a dry run with its plan line and the target line; records what it was sent."""

    def __init__(self, target: str | None = "1.2") -> None:
        self.target = target
        self.sent: list[list[str]] = []

    def __call__(self, words: list[str],
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> Ran:
        self.sent.append(words)
        if "--dry-run" in words and on_event is not None:
            on_event({"out": "~ Agent feed-monitor: 1.3 → 1.2"})
            if self.target:
                on_event({"out": rollback_target_line("feed-monitor", self.target, "staging")})
        return Ran(int(ExitCode.OK))


ARGV = ["rollback", "--agent", "feed-monitor", "--env", "staging"]
PARAMS = {"agent": "feed-monitor", "env": Environment.STAGING, "version": None}


def test_the_dry_runs_line_names_its_version() -> None:
    assert rollback_target(rollback_target_line("a-b", "1.10", "production")) == "1.10"
    assert rollback_target("Dry run: would roll a back to 1.2 in staging. extra") is None


def test_the_answer_rolls_back_to_the_version_the_dry_run_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(remote_mode, "ask", lambda question: asked.append(question) or True)
    server = Server()
    assert remote_mode._confirmed("rollback", ARGV, PARAMS, server) == ExitCode.OK
    assert asked == ["Roll feed-monitor back to 1.2 in staging?"]
    assert server.sent == [[*ARGV, "--dry-run"], [*ARGV, "--version", "1.2", "--yes"]]


def test_a_version_given_is_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_mode, "ask", lambda _question: True)
    server = Server()
    given = [*ARGV, "--version", "1.2"]
    remote_mode._confirmed("rollback", given, {**PARAMS, "version": "1.2"}, server)
    assert server.sent[-1] == [*given, "--yes"]


def test_no_is_cancelled_and_nothing_to_roll_back_asks_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_mode, "ask", lambda _question: False)
    server = Server()
    with pytest.raises(FlexorError, match="rollback cancelled"):
        remote_mode._confirmed("rollback", ARGV, PARAMS, server)
    assert len(server.sent) == 1
    quiet = Server(target=None)
    assert remote_mode._confirmed("rollback", ARGV, PARAMS, quiet) == ExitCode.OK
    assert len(quiet.sent) == 1
