"""Maintenance windows across daylight-saving changes (America/New_York, 2026: DST starts
Sunday 8 March, ends Sunday 1 November), with the clock given, never slept for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flexor_iac.access.windows import DEFAULT, Window, describe, is_open, next_opening, windows
from flexor_iac.project.models import MaintenanceWindow

TUE_THU = windows(None)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("tuesday", "opens_utc"), [
    ("2026-03-03", "2026-03-04T03:00"),  # before the March change: 22:00 EST = 03:00 UTC
    ("2026-03-10", "2026-03-11T02:00"),  # after it: 22:00 EDT = 02:00 UTC
    ("2026-10-27", "2026-10-28T02:00"),  # before the November change: EDT
    ("2026-11-03", "2026-11-04T03:00"),  # after it: EST again
])
def test_the_default_window_follows_eastern_wall_time(tuesday: str, opens_utc: str) -> None:
    opens = utc(opens_utc)
    assert next_opening(TUE_THU, utc(f"{tuesday}T12:00")) == opens
    assert is_open(TUE_THU, opens)
    assert is_open(TUE_THU, opens.replace(minute=59))
    assert not is_open(TUE_THU, opens.replace(hour=opens.hour + 1))  # 23:00 local: closed
    assert not is_open(TUE_THU, opens.replace(hour=opens.hour - 1))


def test_outside_the_window_the_next_opening_is_named_in_utc_and_eastern() -> None:
    monday = utc("2026-03-09T15:00")
    opening = next_opening(TUE_THU, monday)
    assert describe(opening) == "2026-03-11 02:00 UTC (Tue 2026-03-10 22:00 EDT)"
    thursday_after = next_opening(TUE_THU, utc("2026-03-11T02:30"))
    assert thursday_after == utc("2026-03-11T02:30")  # already open: now


def test_a_window_in_the_hour_that_does_not_exist_does_not_open_that_day() -> None:
    night = windows((MaintenanceWindow(days=("sun",), start="02:00", end="03:00"),))
    # 8 March 2026: 02:00 EST jumps to 03:00 EDT, so 02:00-03:00 never happens.
    assert not any(is_open(night, utc(f"2026-03-08T{h:02}:{m:02}"))
                   for h in range(5, 9) for m in (0, 30))
    assert next_opening(night, utc("2026-03-07T12:00")) == utc("2026-03-15T06:00")


def test_a_window_in_the_hour_that_repeats_is_open_both_times() -> None:
    night = windows((MaintenanceWindow(days=("sun",), start="01:00", end="02:00"),))
    # 1 November 2026: 01:00-02:00 happens in EDT (05:00-06:00 UTC), then again in EST.
    assert is_open(night, utc("2026-11-01T05:30")) and is_open(night, utc("2026-11-01T06:30"))
    assert not is_open(night, utc("2026-11-01T07:00"))
    assert next_opening(night, utc("2026-10-31T12:00")) == utc("2026-11-01T05:00")


def test_windows_are_configurable_per_stack() -> None:
    custom = windows((MaintenanceWindow(days=("mon",), start="09:00", end="10:00",
                                        timezone="Europe/Zurich"),))
    assert next_opening(custom, utc("2026-11-26T00:00")) == utc("2026-11-30T08:00")
    assert [Window.of(w) for w in DEFAULT] == TUE_THU
