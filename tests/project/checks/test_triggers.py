"""Cron expressions: a step wider than its field is refused, as crontab (cronie) refuses it."""

from __future__ import annotations

import pytest

from flexor_iac.project.checks.triggers import cron_problem


@pytest.mark.parametrize(("expression", "problem"), [
    ("*/61 * * * *", "minute step 61 is out of range (at most 59)"),
    ("*/60 * * * *", "minute step 60 is out of range (at most 59)"),
    ("0 */25 * * *", "hour step 25 is out of range (at most 23)"),
    ("0 0-12/24 * * *", "hour step 24 is out of range (at most 23)"),
    ("0 0 */31 * *", "day-of-month step 31 is out of range (at most 30)"),
    ("0 0 1 */12 *", "month step 12 is out of range (at most 11)"),
    ("0 0 * * 1,*/8", "day-of-week step 8 is out of range (at most 7)"),
    ("*/99999999999999999999 * * * *",
     "minute step 99999999999999999999 is out of range (at most 59)"),
])
def test_a_step_beyond_its_field_is_invalid(expression: str, problem: str) -> None:
    assert cron_problem(expression) == f"invalid cron expression {expression!r}: {problem}"


def test_a_number_too_long_to_read_is_invalid_not_a_crash() -> None:
    expression = "*/" + "9" * 5000 + " * * * *"
    assert cron_problem(expression) == f"invalid cron expression {expression!r}: a number in " \
                                       "it is too long"


@pytest.mark.parametrize("expression", [
    "*/59 * * * *", "0 */23 * * *", "0 0 */30 * *", "0 0 1 */11 *", "0 0 * * */7",
    "*/15 9-17/2 * * 1-5", "0 12 * * MON",
])
def test_steps_within_their_field_are_valid(expression: str) -> None:
    assert cron_problem(expression) is None
