"""The console: what reaches the terminal is what was meant, never a terminal control sequence
smuggled in through an argument or a file."""

from __future__ import annotations

import io

import pytest

from flexor_iac.output import Console


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
