"""The one "now" policy decisions read (review periods, windows, key expiry).

Tests set it with `frozen(moment)`; nothing that decides policy reads the wall clock itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_fixed: list[datetime] = []


def now() -> datetime:
    """The current time, UTC (or the time a test fixed)."""
    return _fixed[-1] if _fixed else datetime.now(UTC)


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Make `now()` return `moment` inside the block."""
    _fixed.append(moment.astimezone(UTC))
    try:
        yield
    finally:
        _fixed.pop()
