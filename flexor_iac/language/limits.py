"""The limits of one run: its wall time, what its templates may build, what it records.

A run that goes past one fails (it is a failed attempt, retried by the agent's policy); it
never ends the CLI. The numbers, and why:

* Wall time: `timeout_seconds` of the agent (default DEFAULT_TIMEOUT_SECONDS) per attempt.
  Python threads cannot be stopped from outside, so the interpreter checks the deadline before
  every task and step and gives blocking calls (HTTP) only the time left; a template checks it
  every CHECK_EVERY steps while it renders (the deadline the thread last started or checked:
  `deadline_here`); a PlexiFact query is bounded by `data.default_connection_timeout_ms`.
* Templates (see runtime/sandbox.py): MAX_TEXT characters of text per value (1 MiB: far more
  than a message or a key needs, far less than a machine), MAX_VALUE estimated JSON size per
  value and in total per rendering (16 MiB: room for a full `max_rows_per_query` of positions),
  integers of MAX_INT_BITS, MAX_STEPS steps (a traced line or call, or an item `measure`
  visits: about a quarter of a second of template code), values nested MAX_NESTING deep.
* Records: a run entry keeps at most MAX_RECORDED of errors, decisions, outputs and inputs
  (what does not fit is replaced by a marker, so the entry stays readable and the status
  true), log lines and errors are cut at MAX_RECORDED_LINE characters, a run keeps
  MAX_LOG_LINES log lines (the first ones and the last ones, with a line saying how many
  were left out), and the outbox keeps MAX_RECORDED_MESSAGE of each message (the message
  sent is whole).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any, Protocol

from jinja2.utils import Namespace

DEFAULT_TIMEOUT_SECONDS = 300.0
MAX_TEXT = 1024 * 1024
MAX_VALUE = 16 * 1024 * 1024
MAX_INT_BITS = 4096
MAX_STEPS = 1_000_000
CHECK_EVERY = 1000  # steps between two looks at the deadline while a template renders
MAX_NESTING = 100
MAX_RECORDED = 1024 * 1024
MAX_RECORDED_LINE = 4096
MAX_LOG_LINES = 1000
MAX_RECORDED_MESSAGE = 64 * 1024
_SCALAR_SIZE = 24  # numbers, booleans, dates and other small values, as text
_TEXT = (str, bytes)
_SEQUENCES = (list, tuple, set, frozenset)
_CONTAINERS = (dict, *_SEQUENCES, Mapping)  # the (slower) Mapping ABC last
_here = threading.local()  # per thread: `meter` and `deadline` (see metered, deadline_here)


class StepFailed(Exception):
    """A step that failed, with where it happened in its message."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


class TimedOut(StepFailed):
    """The attempt ran past its deadline (no on_error or optional tolerates it)."""


class LimitExceeded(ValueError):
    """A value or an evaluation went past a limit; the message says which."""


def size_words(size: int) -> str:
    """`1 MiB`, `512 KiB`, `300 bytes`."""
    for unit, name in ((1024 * 1024, "MiB"), (1024, "KiB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size} bytes"


class Meter(Protocol):
    """What a rendering may still spend (runtime/sandbox.py): work is charged to it."""

    def charge(self, steps: int) -> None:
        """Count `steps` of work; raises when the rendering has none left."""


def metered(meter: Meter | None) -> Meter | None:
    """Charge what `measure` visits in this thread to `meter` (None: to nothing); the last one."""
    last: Meter | None = getattr(_here, "meter", None)
    _here.meter = meter
    return last


def charge(steps: int) -> None:
    """Count `steps` of work against the rendering running in this thread (if any)."""
    if (meter := getattr(_here, "meter", None)) is not None:
        meter.charge(steps)


def measure(value: Any, limit: int) -> int:
    """About how many characters `value` takes as JSON; counting stops once past `limit`.

    A value shared by reference counts every time it appears, as it would once written out:
    a list repeating one long string a million times is found too big without being written.
    Each item visited is a step of the rendering running in this thread (`metered`).
    Raises LimitExceeded for values nested deeper than MAX_NESTING.
    """
    meter: Meter | None = getattr(_here, "meter", None)
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise LimitExceeded(f"a value nests deeper than {MAX_NESTING} levels")
        if isinstance(item, _TEXT):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, _CONTAINERS):
            total += 2 + 2 * len(item)
            if total <= limit:  # C iterators: no Python frame per item
                children: Iterator[Any]
                if isinstance(item, _SEQUENCES):
                    count, children = len(item), iter(item)
                else:
                    count, children = 2 * len(item), chain.from_iterable(item.items())
                if meter is not None:  # this container and the items about to be visited
                    meter.charge(1 + count)
                stack.extend(zip(children, repeat(depth + 1)))
        elif isinstance(item, Namespace):  # a template's namespace() prints what it holds
            stack.append((object.__getattribute__(item, "_Namespace__attrs"), depth + 1))
        else:
            total += _SCALAR_SIZE
    return total


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
        _here.deadline = weakref.ref(self)
        self.seconds, self.at = seconds, self.clock() + seconds

    def clear(self) -> None:
        """No attempt is running (the final-failure notification is not cut short)."""
        self.seconds = self.at = math.inf

    def left(self) -> float:
        """Seconds left (infinite without a running attempt)."""
        _here.deadline = weakref.ref(self)  # this thread works for this attempt
        return math.inf if self.at == math.inf else self.at - self.clock()

    def passed(self) -> bool:
        """Whether the attempt's time is up."""
        return self.left() <= 0

    def bound(self, seconds: float) -> float:
        """A blocking call's timeout: `seconds`, or less when less is left (never zero)."""
        return max(min(seconds, self.left()), 0.001)


def deadline_here() -> Deadline | None:
    """The deadline this thread last started or checked: the attempt it works for.

    The interpreter checks its deadline before every task and step, in parallel branches too,
    so a template rendered for a step finds the deadline of that step's attempt here.
    """
    found = getattr(_here, "deadline", None)
    return None if found is None else found()


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
