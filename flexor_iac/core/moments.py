"""Points in time on the command line: `2026-04-30`, ISO 8601 times, or `30m`/`2h`/`7d` ago."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flexor_iac.core.errors import UsageError

_AGO = re.compile(r"(\d+)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The longest age or lifetime taken: beyond it a date leaves the calendar (an age of 3000000d
# is before year 1) and a key "expiring" then never does in practice.
_MOST = 36500 * _SECONDS["d"]
_MOST_TEXT = "36500d (100 years)"
_MOST_WAIT = 24 * _SECONDS["h"]


def _seconds(found: re.Match[str], default_unit: str = "s") -> int:
    """The seconds `<count><unit>` stands for; any count of 19 digits or more is over every
    limit, so it is never converted (int() refuses 4300 digits and more)."""
    digits = found.group(1)
    count = int(digits) if len(digits) < 19 else 10**18
    return count * _SECONDS[found.group(2) or default_unit]


def parse_moment(text: str, option: str, now: datetime, end_of_day: bool = False) -> datetime:
    """A UTC time; a bare date is its start (or, with `end_of_day`, the next day's start).

    A time with another offset is converted (stored times are UTC and compared as ISO text);
    one without an offset is taken as UTC.
    """
    if found := _AGO.fullmatch(text.strip()):
        if (seconds := _seconds(found)) > _MOST:
            raise UsageError(f"{option} {text!r}: an age may be at most {_MOST_TEXT}")
        return now - timedelta(seconds=seconds)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if not end_of_day:
            return start
        return start + timedelta(days=1) if day < date.max else datetime.max.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a date (2026-04-30), an ISO time "
                         "(2026-04-30T14:00Z) or an age (30m, 2h, 7d)") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # the offset moves it past either end of the calendar: that end
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


_DURATION = re.compile(r"(\d+)([hdw])")


def parse_duration(text: str, option: str) -> timedelta:
    """`12h`, `90d`, `2w` → a timedelta, from 1h to 100 years."""
    if found := _DURATION.fullmatch(text.strip()):
        if not 0 < (seconds := _seconds(found)) <= _MOST:
            raise UsageError(f"{option} {text!r}: a duration must be from 1h to {_MOST_TEXT}")
        return timedelta(seconds=seconds)
    raise UsageError(f"{option} {text!r}: expected a duration such as 12h, 90d or 2w")


_WAIT = re.compile(r"(\d+)([smh]?)")


def parse_wait(text: str, option: str) -> float:
    """`30s`, `5m`, `1h` (a bare number is seconds) → seconds to wait, at most a day."""
    if found := _WAIT.fullmatch(text.strip()):
        if (seconds := _seconds(found)) > _MOST_WAIT:
            raise UsageError(f"{option} {text!r}: a wait may be at most 24h")
        return float(seconds)
    raise UsageError(f"{option} {text!r}: expected a wait such as 30s, 5m or 1h")


def utc(moment: datetime | None) -> str:
    """`2026-04-30 14:32 UTC`, or `never`."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
