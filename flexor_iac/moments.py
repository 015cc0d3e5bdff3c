"""Points in time on the command line: `2026-04-30`, ISO 8601 times, or `30m`/`2h`/`7d` ago."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flexor_iac.errors import UsageError

_AGO = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str, option: str, now: datetime, end_of_day: bool = False) -> datetime:
    """A UTC time; a bare date is its start (or, with `end_of_day`, the next day's start)."""
    if found := _AGO.fullmatch(text.strip()):
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a date (2026-04-30), an ISO time "
                         "(2026-04-30T14:00Z) or an age (30m, 2h, 7d)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_DURATION = re.compile(r"(\d+)([hdw])")


def parse_duration(text: str, option: str) -> timedelta:
    """`12h`, `90d`, `2w` → a timedelta."""
    if found := _DURATION.fullmatch(text.strip()):
        return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    raise UsageError(f"{option} {text!r}: expected a duration such as 12h, 90d or 2w")


_WAIT = re.compile(r"(\d+)([smh]?)")


def parse_wait(text: str, option: str) -> float:
    """`30s`, `5m`, `1h` (a bare number is seconds) → seconds to wait."""
    if found := _WAIT.fullmatch(text.strip()):
        unit = found.group(2) or "s"
        return timedelta(**{_UNITS[unit]: int(found.group(1))}).total_seconds()
    raise UsageError(f"{option} {text!r}: expected a wait such as 30s, 5m or 1h")
