"""When a `schedule` trigger fires: 5-field cron in the trigger's time zone (cronsim).

Daylight saving time follows cron's rule, which cronsim implements: a time inside the hour
that is skipped in spring fires once, at the first instant after the gap (02:30 → 03:00);
a fixed time inside the hour repeated in autumn fires once, on its first pass; expressions
that run every hour or more often keep their real-time period through both changes.

Ticks are compared and stored as UTC instants, so the same tick is the same key on every
server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

# A server that was away longer than this does not look further back for a missed tick.
LOOK_BACK_TICKS = 100_000
# A tick fired later than this after its time is a catch-up (a server was not running).
LATE = timedelta(seconds=60)


@dataclass(frozen=True)
class Due:
    """What fires now for one schedule: the newest due tick (if any), whether it is late (a
    catch-up), and how many older ticks were missed and are not fired (at most one run per
    catch-up)."""

    tick: datetime | None
    missed: int
    newest: datetime | None  # the newest tick passed, fired or not (the next `since`)
    late: bool = False


class Schedule:
    """One agent's cron expression in its time zone."""

    def __init__(self, cron: str, timezone: str = "UTC") -> None:
        self.cron = cron
        self.zone = ZoneInfo(timezone)
        CronSim(cron, datetime(2000, 1, 1, tzinfo=self.zone))  # invalid: CronSimError now

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after `moment` (UTC)."""
        return next(self._ticks(moment)).astimezone(UTC)

    def due(self, since: datetime, now: datetime, catch_up: bool = True) -> Due:
        """The ticks in (since, now]: the newest fires (unless it is late, a catch-up, and
        `catch_up` is off); the older ones are reported as missed."""
        passed = 0
        newest: datetime | None = None
        for tick in self._ticks(since):
            if tick > now or passed >= LOOK_BACK_TICKS:
                break
            newest = tick
            passed += 1
        if newest is None:
            return Due(None, 0, None)
        newest = newest.astimezone(UTC)
        late = passed > 1 or now - newest > LATE
        if late and not catch_up:
            return Due(None, passed, newest, late)
        return Due(newest, passed - 1, newest, late)

    def _ticks(self, after: datetime) -> CronSim:
        # cronsim iterates wall-clock times of the zone, returning aware datetimes.
        return CronSim(self.cron, after.astimezone(self.zone))
