"""The console: what reaches the terminal is what was meant, never a terminal control sequence
smuggled in through an argument or a file."""

from __future__ import annotations

import io
import os

import pytest

from flexor_iac.core.output import Console


def _console(colour: bool = False) -> Console:
    return Console(colour=colour, out=io.StringIO(), err=io.StringIO())


def _written(stream: object) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


@pytest.mark.parametrize(("given", "shown"), [
    ("agent x\x1b[2J is not deployed", "agent x\\x1b[2J is not deployed"),
    ("bell\x07 and\rreturn", "bell\\x07 and\\rreturn"),
    ("two\nlines", "two\\nlines"),
    ("right-to-left \u202eoverride", "right-to-left \\u202eoverride"),
    ("undecodable \udcff byte", "undecodable \\udcff byte"),
    ("café ✓ 東京", "café ✓ 東京"),
])
def test_errors_and_warnings_are_one_line_with_control_characters_escaped(
        given: str, shown: str) -> None:
    console = _console()
    console.error(given)
    console.warning(given)
    assert _written(console.err) == f"error: {shown}\nwarning: {shown}\n"


def test_result_lines_keep_tabs_and_line_breaks_but_escape_control_characters() -> None:
    console = _console()
    console.line("No runs of x\x1b]0;owned\x07 in staging.")
    console.line("NAME\tSTATUS\nfeed-monitor\tactive")
    assert _written(console.out) == ("No runs of x\\x1b]0;owned\\x07 in staging.\n"
                                     "NAME\tSTATUS\nfeed-monitor\tactive\n")


def test_the_consoles_own_colours_survive_while_smuggled_ones_do_not() -> None:
    console = _console(colour=True)
    console.error("agent x\x1b[32m")
    console.line(console.style("+ Agent x\x1b[8m", "green"))
    console.progress("Deploying x\x1b[1A …")
    assert _written(console.err) == ("\x1b[31merror\x1b[0m: agent x\\x1b[32m\n"
                                     "\x1b[2mDeploying x\\x1b[1A …\x1b[0m\n")
    assert _written(console.out) == "\x1b[32m+ Agent x\\x1b[8m\x1b[0m\n"


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _retrying(left: int) -> str:
    return f"attempt 1 of 3 failed: boom\x1b[2J; retrying in {left} s …"


def test_a_countdown_on_a_terminal_rewrites_one_line_each_second_then_clears_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.delenv("TERM", raising=False)
    console = Console(out=io.StringIO(), err=_Terminal())
    waits: list[float] = []
    console.countdown(_retrying, 2.5, waits.append)
    assert waits == [0.5, 1, 1]  # to whole seconds first, then once a second
    shown = _written(console.err).split("\r")
    assert shown == ["",  # fitted to 39 columns, the count kept
                     "attempt 1 of 3 fail…; retrying in 3 s …\x1b[K",
                     "attempt 1 of 3 fail…; retrying in 2 s …\x1b[K",
                     "attempt 1 of 3 fail…; retrying in 1 s …\x1b[K",
                     "\x1b[K"]  # cleared: the next line starts on a clean line
    monkeypatch.setenv("COLUMNS", "200")
    console.err = _Terminal()
    console.countdown(_retrying, 2, waits.append)
    assert _written(console.err).split("\r")[1:3] == [
        "attempt 1 of 3 failed: boom\\x1b[2J; retrying in 2 s …\x1b[K",
        "attempt 1 of 3 failed: boom\\x1b[2J; retrying in 1 s …\x1b[K"]


def test_a_countdown_is_cleared_when_the_wait_is_interrupted() -> None:
    console = Console(out=io.StringIO(), err=_Terminal())

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        console.countdown(_retrying, 60, interrupted)
    assert _written(console.err).endswith("\r\x1b[K")


@pytest.mark.parametrize("terminal", [False, True])
def test_without_a_cursor_a_countdown_is_one_line_per_wait(
        terminal: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")  # a terminal that cannot move its cursor counts as none
    console = Console(out=io.StringIO(), err=_Terminal() if terminal else io.StringIO())
    waits: list[float] = []
    console.countdown(_retrying, 42, waits.append)
    assert waits == [42]
    assert _written(console.err) == "attempt 1 of 3 failed: boom\\x1b[2J; retrying in 42 s …\n"
    assert _written(console.out) == ""


def _drain(leader: int) -> bytes:
    """Everything a closed pseudo-terminal's follower wrote (it may arrive in several reads)."""
    received = b""
    try:
        while chunk := os.read(leader, 4096):
            received += chunk
    except OSError:  # Linux reports EIO once the closed follower's output is drained
        pass
    finally:
        os.close(leader)
    return received


def test_a_terminal_that_reports_no_width_gets_columns_or_80(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    monkeypatch.delenv("TERM", raising=False)
    leader, follower = os.openpty()  # a new pseudo-terminal is 0 columns wide until set
    with os.fdopen(follower, "w", encoding="utf-8") as err:
        Console(out=io.StringIO(), err=err).countdown(_retrying, 1, lambda _s: None)
    written = _drain(leader).decode()
    assert written == "\rattempt 1 of 3…rying in 1 s …\x1b[K\r\x1b[K"  # 29 columns
