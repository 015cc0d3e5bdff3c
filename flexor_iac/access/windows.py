"""Maintenance windows in wall-clock time, daylight-saving aware (zoneinfo).

A moment is inside a window when its local wall time, in the window's zone, falls on one of the
window's days within [start, end). So on the day clocks spring forward a window in the skipped
hour never opens, and on the day they fall back a window in the repeated hour is open both
times that hour passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flexor_iac.project.models import MaintenanceWindow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT = (MaintenanceWindow(days=("tue", "thu"), start="22:00", end="23:00",
                             timezone="America/New_York"),)
EASTERN = ZoneInfo("America/New_York")
_HORIZON = timedelta(days=15)


@dataclass(frozen=True)
class Window:
    """One window, parsed."""

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def of(cls, config: MaintenanceWindow) -> Window:
        """From the stack setting."""
        return cls(frozenset(DAYS.index(d) for d in config.days), time.fromisoformat(config.start),
                   time.fromisoformat(config.end), ZoneInfo(config.timezone))

    def contains(self, moment: datetime) -> bool:
        """Whether `moment`'s wall time in this window's zone is inside it."""
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end


def windows(configured: Sequence[MaintenanceWindow] | None) -> list[Window]:
    """The stack's windows (default: Tue and Thu 22:00-23:00 America/New_York)."""
    return [Window.of(w) for w in (configured or DEFAULT)]


def is_open(configured: Sequence[Window], moment: datetime) -> bool:
    """Whether any window is open at `moment`."""
    return any(window.contains(moment) for window in configured)


def next_opening(configured: Sequence[Window], moment: datetime) -> datetime:
    """The first minute at or after `moment` when a window is open (UTC).

    Scans minute by minute: simple, and exact across daylight-saving changes.
    """
    probe = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if probe < moment:
        probe += timedelta(minutes=1)
    limit = probe + _HORIZON
    while probe < limit:
        if is_open(configured, probe):
            return probe
        probe += timedelta(minutes=1)
    raise ValueError("no maintenance window opens in the next 15 days")


def opened_at(configured: Sequence[Window], moment: datetime) -> datetime | None:
    """When the opening of a window that `moment` is inside began (its first open minute,
    UTC); None when no window is open. Windows span a day at most, so the scan is short."""
    if not is_open(configured, moment):
        return None
    probe = moment.astimezone(UTC).replace(second=0, microsecond=0)
    for _ in range(24 * 60 + 1):
        if not is_open(configured, probe - timedelta(minutes=1)):
            break
        probe -= timedelta(minutes=1)
    return probe


def next_opening_after(configured: Sequence[Window], moment: datetime) -> datetime:
    """The first opening that begins after `moment` (a later opening when one is open at
    `moment`: it waits for that one to close)."""
    probe = moment.astimezone(UTC).replace(second=0, microsecond=0)
    for _ in range(24 * 60 + 1):
        if not is_open(configured, probe):
            break
        probe += timedelta(minutes=1)
    return next_opening(configured, max(probe, moment))


def describe(moment: datetime) -> str:
    """`2026-03-10 02:00 UTC (Mon 2026-03-09 22:00 EDT)`."""
    utc = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    eastern = moment.astimezone(EASTERN).strftime("%a %Y-%m-%d %H:%M %Z")
    return f"{utc} ({eastern})"
