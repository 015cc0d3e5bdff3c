"""Cron ticks in the trigger's time zone, through both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSimError

from flexor_iac.serve.schedule import Schedule

NEW_YORK = ZoneInfo("America/New_York")


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[misc]


def fired(schedule: Schedule, start: datetime, end: datetime) -> list[str]:
    """Every tick fired by a server looking at the clock each minute from start to end."""
    ticks, since, now = [], start, start
    while now <= end:
        due = schedule.due(since, now)
        if due.tick is not None:
            ticks.append(due.tick.astimezone(NEW_YORK).strftime("%H:%M%z"))
        since = due.newest or since
        now += timedelta(minutes=1)
    return ticks


def test_a_time_in_the_skipped_spring_hour_fires_once_right_after_the_gap() -> None:
    schedule = Schedule("30 2 * * *", "America/New_York")  # 2026-03-08 02:00 -> 03:00
    assert fired(schedule, local(2026, 3, 8, 0, 0), local(2026, 3, 8, 5, 0)) == ["03:00-0400"]


def test_a_half_hourly_schedule_does_not_fire_twice_for_the_skipped_hour() -> None:
    schedule = Schedule("*/30 * * * *", "America/New_York")
    assert fired(schedule, local(2026, 3, 8, 0, 45), local(2026, 3, 8, 3, 45)) == [
        "01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]


def test_a_time_in_the_repeated_autumn_hour_fires_once() -> None:
    schedule = Schedule("30 1 * * *", "America/New_York")  # 2026-11-01 02:00 -> 01:00
    start = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    assert fired(schedule, start, start + timedelta(hours=4)) == ["01:30-0400"]


def test_an_hourly_schedule_keeps_its_real_period_through_the_repeated_hour() -> None:
    schedule = Schedule("0 * * * *", "America/New_York")
    start = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT
    assert fired(schedule, start, start + timedelta(hours=3)) == [
        "01:00-0400", "01:00-0500", "02:00-0500"]


def test_a_server_back_inside_the_repeated_hour_catches_up_the_first_pass_at_once() -> None:
    schedule = Schedule("30 1 * * *", "America/New_York")
    since = local(2026, 11, 1, 1, 20)  # EDT; the server stops, comes back at 01:15 EST
    due = schedule.due(since, datetime(2026, 11, 1, 6, 15, tzinfo=UTC))
    assert due.tick == datetime(2026, 11, 1, 5, 30, tzinfo=UTC) and due.late  # 01:30 EDT
    # and the next fire is tomorrow's, not the hour's first pass again
    assert schedule.next_after(datetime(2026, 11, 1, 6, 15, tzinfo=UTC)) == datetime(
        2026, 11, 2, 6, 30, tzinfo=UTC)


def test_ticks_are_utc_instants_the_same_on_every_server() -> None:
    schedule = Schedule("0 9 * * *", "Europe/Paris")
    due = schedule.due(datetime(2026, 6, 1, 6, 0, tzinfo=UTC),
                       datetime(2026, 6, 1, 7, 0, 30, tzinfo=UTC))
    assert due.tick == datetime(2026, 6, 1, 7, 0, tzinfo=UTC) and not due.late


def test_missed_ticks_fire_once_as_a_late_catch_up_and_count_the_rest() -> None:
    schedule = Schedule("*/10 * * * *")
    since = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    due = schedule.due(since, since + timedelta(minutes=45))
    assert due.tick == since + timedelta(minutes=40)
    assert (due.missed, due.late) == (3, True)


def test_catch_up_off_skips_the_missed_ticks_but_still_fires_on_time() -> None:
    schedule = Schedule("*/10 * * * *")
    since = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    skipped = schedule.due(since, since + timedelta(minutes=45), catch_up=False)
    assert skipped.tick is None and skipped.newest == since + timedelta(minutes=40)
    on_time = schedule.due(since, since + timedelta(minutes=10, seconds=1), catch_up=False)
    assert on_time.tick == since + timedelta(minutes=10) and not on_time.late


def test_a_restart_on_time_fires_the_current_tick_as_on_time_even_without_catch_up() -> None:
    schedule = Schedule("0 * * * *")
    since = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    due = schedule.due(since, datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC), catch_up=False)
    assert due.tick == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert (due.late, due.missed) == (False, 1)  # 11:00 was missed, 12:00 is on time


def test_a_server_away_for_months_finds_the_newest_tick_at_once() -> None:
    schedule = Schedule("* * * * *")
    since = datetime(2026, 1, 1, tzinfo=UTC)
    due = schedule.due(since, datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC))
    assert due.tick == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert due.missed == 100 and not due.late  # counted up to 100


def test_nothing_is_due_before_the_next_tick() -> None:
    schedule = Schedule("0 * * * *")
    since = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert schedule.due(since, since + timedelta(minutes=59)).tick is None
    assert schedule.next_after(since) == since + timedelta(hours=1)


def test_an_invalid_expression_is_refused_when_made() -> None:
    with pytest.raises(CronSimError):
        Schedule("61 * * * *")
