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

# Missed ticks are counted up to this many ("at least 100").
MISSED_COUNTED = 100
WALKED = timedelta(hours=3)  # how far back a tick is looked for forwards, when backwards fails
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
        """The first tick strictly after `moment` (UTC). (In a repeated autumn hour cronsim
        may start from the hour's first pass: ticks before `moment` are passed over.)"""
        for tick in self._ticks(moment):
            if (found := tick.astimezone(UTC)) > moment:
                return found
        raise AssertionError("a cron expression always has a next tick")

    def due(self, since: datetime, now: datetime, catch_up: bool = True) -> Due:
        """What fires at `now` when every tick up to `since` was taken: the newest tick in
        (since, now] — unless it is late (more than LATE ago: no server ran at its time) and
        `catch_up` is off. Older ticks in between are missed (counted up to MISSED_COUNTED)."""
        newest = self._newest(since, now)
        if newest is None:
            return Due(None, 0, None)
        missed = 0
        for tick in self._ticks(since):
            at = tick.astimezone(UTC)
            if at >= newest or missed >= MISSED_COUNTED:
                break
            missed += at > since  # (a repeated autumn hour may start from before `since`)
        late = now - newest > LATE
        if late and not catch_up:
            return Due(None, missed, newest, late)
        return Due(newest, missed, newest, late)

    def _newest(self, since: datetime, now: datetime) -> datetime | None:
        """The newest tick in (since, now], found backwards from now (a server away for weeks
        does not walk every tick it missed)."""
        if now <= since:
            return None
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)  # ticks: whole minutes
        backwards = CronSim(self.cron, end.astimezone(self.zone), reverse=True)
        newest = next(backwards).astimezone(UTC)
        if newest > since:
            # Forwards from just before it, so that DST resolves it as forward iteration
            # does (the repeated autumn hour's second pass of a fixed time is not a tick).
            forwards = next(self._ticks(newest - timedelta(minutes=1))).astimezone(UTC)
            if since < forwards <= now:
                return forwards
        # Inside a repeated autumn hour the backward search may miss a fixed time's one pass:
        # walk forwards from `since`, at most the last hours (a shift is at most 2 h).
        found = None
        for tick in self._ticks(max(since, now - WALKED)):
            if (at := tick.astimezone(UTC)) > now:
                break
            found = at if at > since else found
        return found

    def _ticks(self, after: datetime) -> CronSim:
        # cronsim iterates wall-clock times of the zone, returning aware datetimes.
        return CronSim(self.cron, after.astimezone(self.zone))
