"""The limits of one run: its wall time, and what its record keeps.

A run that goes past one fails (it is a failed attempt, retried by the agent's policy); it
never ends the CLI. The numbers, and why:

* Wall time: `timeout_seconds` of the agent (default DEFAULT_TIMEOUT_SECONDS) per attempt.
  Python threads cannot be stopped from outside, so the interpreter checks the deadline before
  every task and step and gives blocking calls (HTTP) only the time left; a template is given
  the time left too, and its render worker is stopped at it (language/render_pool.py); a
  PlexiFact query is bounded by `data.default_connection_timeout_ms`.
* Records: a run entry keeps at most MAX_RECORDED of errors, decisions, outputs and inputs
  (what does not fit is replaced by a marker, so the entry stays readable and the status
  true), log lines and errors are cut at MAX_RECORDED_LINE characters, a run keeps
  MAX_LOG_LINES log lines (the first ones and the last ones, with a line saying how many
  were left out), and the outbox keeps MAX_RECORDED_MESSAGE of each message (the message
  sent is whole).

What a template may produce and spend: language/limits.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flexor_iac.language.limits import LimitExceeded, measure, size_words

DEFAULT_TIMEOUT_SECONDS = 300.0
MAX_RECORDED = 1024 * 1024
MAX_RECORDED_LINE = 4096
MAX_LOG_LINES = 1000
MAX_RECORDED_MESSAGE = 64 * 1024


class StepFailed(Exception):
    """A step that failed, with where it happened in its message."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


class TimedOut(StepFailed):
    """The attempt ran past its deadline (no on_error or optional tolerates it)."""


def clip(text: str, limit: int = MAX_RECORDED_LINE) -> str:
    """`text`, cut at `limit` characters with a note of how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters not recorded]"


@dataclass
class Deadline:
    """When the running attempt must end (monotonic seconds; infinite when none is running)."""

    clock: Callable[[], float] = time.monotonic
    seconds: float = math.inf
    at: float = math.inf

    def start(self, seconds: float) -> None:
        """An attempt starts: it may run `seconds`."""
        self.seconds, self.at = seconds, self.clock() + seconds

    def clear(self) -> None:
        """No attempt is running (the final-failure notification is not cut short)."""
        self.seconds = self.at = math.inf

    def left(self) -> float:
        """Seconds left (infinite without a running attempt)."""
        return math.inf if self.at == math.inf else self.at - self.clock()

    def passed(self) -> bool:
        """Whether the attempt's time is up."""
        return self.left() <= 0

    def bound(self, seconds: float) -> float:
        """A blocking call's timeout: `seconds`, or less when less is left (never zero)."""
        return max(min(seconds, self.left()), 0.001)


@dataclass
class RecordBudget:
    """What is left of the size a record may keep; what does not fit becomes a marker."""

    limit: int = MAX_RECORDED
    left: int = field(init=False)

    def __post_init__(self) -> None:
        self.left = self.limit

    def keep(self, value: Any) -> Any:
        """`value` if it fits in what is left, else a marker saying it was not recorded."""
        try:
            size = measure(value, self.left)
        except LimitExceeded:
            size = self.left + 1
        if size <= self.left:
            self.left -= size
            return value
        return f"[not recorded: over the {size_words(self.limit)} recorded]"

    def each(self, values: list[Any]) -> list[Any]:
        """Items that fit, in order; one marker for the rest from the first that does not."""
        kept: list[Any] = []
        for index, value in enumerate(values):
            item = self.keep(value)
            if item is not value:
                kept.append(f"[{len(values) - index} more not recorded: over the "
                            f"{size_words(self.limit)} recorded]")
                break
            kept.append(item)
        return kept

    def each_value(self, values: Any) -> Any:
        """A mapping's values that fit (a marker for each that does not); others via keep."""
        if isinstance(values, Mapping):
            return {key: self.keep(item) for key, item in values.items()}
        return self.keep(values)
