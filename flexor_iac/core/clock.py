"""The one "now" policy decisions read (review periods, windows, key expiry).

Tests set it with `frozen(moment)`; nothing that decides policy reads the wall clock itself.

Rehearsals and tests of a whole process (a `flexor serve` that is to apply a request at a
window's opening) set `FLEXOR_CLOCK=<ISO-8601 moment>` instead: the clock then starts at that
moment and moves with real time. Never on by default. The process that reads it first writes
down the real time it started at (`FLEXOR_CLOCK='<moment> at <real moment>'`), so the processes
it starts (the engine's providers, a deploy the server runs) keep the very same clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flexor_iac.core.errors import UsageError

VARIABLE = "FLEXOR_CLOCK"
_fixed: list[datetime] = []
_simulated: tuple[str, timedelta] | None = None  # (the variable's value, its offset)


def _offset(value: str) -> timedelta:
    """How far FLEXOR_CLOCK sets the clock from the real one (its first reader anchors it)."""
    global _simulated
    if _simulated is not None and _simulated[0] == value:
        return _simulated[1]
    moment_text, _, anchor_text = value.partition(" at ")
    try:
        moment = _aware(datetime.fromisoformat(moment_text.strip()))
        anchor = _aware(datetime.fromisoformat(anchor_text.strip())) if anchor_text \
            else datetime.now(UTC)
    except ValueError:
        raise UsageError(f"{VARIABLE}={value!r} is not an ISO-8601 moment "
                         "(e.g. 2026-03-12T21:59:30-04:00)") from None
    if not anchor_text:  # the processes this one starts inherit the same clock
        value = f"{moment.isoformat()} at {anchor.isoformat()}"
        os.environ[VARIABLE] = value
    _simulated = (value, moment - anchor)
    return _simulated[1]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def simulated() -> bool:
    """Whether FLEXOR_CLOCK moves this process's clock."""
    return bool(os.environ.get(VARIABLE))


def now() -> datetime:
    """The current time, UTC (or the time a test fixed, or FLEXOR_CLOCK's)."""
    if _fixed:
        return _fixed[-1]
    if value := os.environ.get(VARIABLE):
        offset = _offset(value)  # anchored first: the first reading is the moment itself
        return datetime.now(UTC) + offset
    return datetime.now(UTC)


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Make `now()` return `moment` inside the block."""
    _fixed.append(moment.astimezone(UTC))
    try:
        yield
    finally:
        _fixed.pop()
