"""The only writer to the terminal: plain lines, colour only on a TTY, JSON documents."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from flexor_iac.core.errors import UsageError

_COLOURS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "dim": 2, "bold": 1}
_LAYOUT = "\n\t"  # what a result line may hold besides printable text (tables, blocks)
_CLEAR_TO_END = "\033[K"  # erase from the cursor to the end of the line


def _printable(text: str, keep: str = "") -> str:
    """`text` with every non-printable character (ESC, BEL, CR, bidi overrides, undecodable
    bytes…) but those in `keep` written as its Python escape (`\\x1b`), so text from an
    argument or a file can never move the cursor, recolour or retitle the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else
                   c.encode("unicode_escape").decode("ascii") for c in text)


def printable_line(text: str) -> str:
    """`text` as a line may show it: control characters written as escapes (tabs kept)."""
    return _printable(text, "\t")


class _Styled(str):
    """Text from `Console.style`: escaped already, and its colour codes are the console's own."""

    __slots__ = ()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or missing
        return False


def _columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to (COLUMNS, else 80, when it cannot tell)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or shutil.get_terminal_size().columns


def _fit(text: str, width: int) -> str:
    """`text` in `width` characters, its middle replaced by `…` when longer: the start says
    what happened, the end holds what changes (a count)."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 2
    return f"{text[:width - 1 - tail]}…{text[len(text) - tail:]}"


def colour_wanted(stream: TextIO, no_color_flag: bool) -> bool:
    """Colour only on a TTY, never with --no-color or a non-empty NO_COLOR (no-color.org)."""
    return not no_color_flag and not os.environ.get("NO_COLOR") and stream.isatty()


@dataclass
class Console:
    """Where a verb writes; one is built in main.py and handed to every command."""

    json_mode: bool = False
    colour: bool = False
    verbose: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)

    def approved(self, question: str, yes: bool, ask: Callable[[str], bool], what: str) -> bool:
        """`--yes`, else the answer of a person at a terminal (stdin, whatever stdout is).

        With no terminal to ask on and no `--yes`, nothing is applied: a usage error (exit 64),
        as Pulumi refuses a non-interactive `up` without `--yes`.
        """
        if yes:
            return True
        if not _is_terminal(self.stdin):
            raise UsageError(f"{what} needs --yes when stdin is not a terminal (nothing was "
                             "asked, nothing was applied)")
        return ask(question)

    def style(self, text: str, colour: str) -> str:
        """Wrap one line of text (control characters and line breaks escaped) in an ANSI colour
        when colour is on."""
        text = _printable(text)
        return _Styled(f"\033[{_COLOURS[colour]}m{text}\033[0m" if self.colour else text)

    def line(self, text: str = "") -> None:
        """A line of the verb's result on stdout (suppressed in --json mode)."""
        if not self.json_mode:
            shown = text if isinstance(text, _Styled) else _printable(text, _LAYOUT)
            print(shown, file=self.out, flush=True)

    def progress(self, text: str) -> None:
        """A progress line on stderr, so stdout stays the result."""
        print(self.style(text, "dim"), file=self.err, flush=True)

    def countdown(self, text: Callable[[int], str], seconds: float,
                  sleep: Callable[[float], None]) -> None:
        """Wait `seconds` through `sleep`, saying why on stderr: `text(whole seconds left)`.

        On a terminal that is one line counting down in place once a second (fitted to the
        terminal's width, so it can be rewritten), cleared when the wait ends; elsewhere (CI
        logs, pipes, TERM=dumb) one line for the whole wait.
        """
        whole = math.ceil(seconds)
        if not _is_terminal(self.err) or os.environ.get("TERM") == "dumb":  # no cursor moves
            self.progress(text(whole))
            sleep(seconds)
            return
        width = max(_columns(self.err) - 1, 1)
        try:
            for left in range(whole, 0, -1):
                shown = self.style(_fit(_printable(text(left)), width), "dim")
                self.err.write(f"\r{shown}{_CLEAR_TO_END}")
                self.err.flush()
                sleep(seconds - (whole - 1) if left == whole else 1)
        finally:
            self.err.write(f"\r{_CLEAR_TO_END}")
            self.err.flush()

    def debug(self, text: str) -> None:
        """A line shown only with -v/--verbose."""
        if self.verbose:
            self.progress(text)

    def warning(self, text: str) -> None:
        """A warning line on stderr."""
        print(f"{self.style('warning', 'yellow')}: {_printable(text)}", file=self.err, flush=True)

    def error(self, text: str) -> None:
        """An error line on stderr."""
        print(f"{self.style('error', 'red')}: {_printable(text)}", file=self.err, flush=True)

    def document(self, doc: Any) -> None:
        """The verb's machine-readable result (only in --json mode)."""
        if self.json_mode:
            json.dump(doc, self.out, indent=2, sort_keys=False, default=str)
            self.out.write("\n")
            self.out.flush()
