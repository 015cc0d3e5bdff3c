"""How a Pulumi CLI call ended, read back from the text of the Automation API's CommandError."""

from __future__ import annotations

from pulumi.automation._cmd import CommandResult

from flexor_iac.deploy.engine_outcome import EngineOutcome


def _text(stdout: str, stderr: str, code: int) -> str:
    return str(CommandResult(stdout=stdout, stderr=stderr, code=code))  # as CommandError keeps it


def test_a_killed_engine_has_its_signal_and_no_empty_last_line() -> None:
    killed = EngineOutcome.of(_text("Updating (staging):\n  + Agent a created", "", -9))
    assert (killed.code, killed.signal) == (-9, 9)
    assert killed.last_line() == "+ Agent a created"
    assert EngineOutcome.of(_text("", "", -15)).last_line() == "exit code -15"


def test_a_failed_engine_says_its_last_line_of_stderr_first() -> None:
    failed = EngineOutcome.of(_text("out\n", "error: one\nerror: the last\n", 255))
    assert (failed.code, failed.signal, failed.last_line()) == (255, None, "error: the last")
    assert EngineOutcome.of("something else").last_line() == "something else"


def test_a_killed_engine_names_the_way_on() -> None:
    killed = EngineOutcome.of(_text("", "", -9))
    assert killed.killed("staging", "update", changes=True) == (
        "the Pulumi engine was killed (signal 9) during the update of staging; the next "
        "`flexor deploy --env staging` recovers what it left (docs/decisions/013)")
    assert killed.killed("staging", "preview", changes=False) == (
        "the Pulumi engine was killed (signal 9) during the preview of staging; it changed "
        "nothing: run it again")
