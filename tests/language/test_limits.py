"""The run limits' building blocks: measuring values, deadlines, what a record keeps."""

from __future__ import annotations

import pytest

from flexor_iac.language.limits import (
    MAX_NESTING,
    Deadline,
    LimitExceeded,
    RecordBudget,
    clip,
    measure,
)


def test_measure_counts_shared_values_every_time_and_stops_past_the_limit() -> None:
    text = "x" * 1000
    assert measure({"a": [text, text]}, 10_000) > 2000
    huge = [[text] * 1000] * 1000  # a million references: small in memory, 1 GB written out
    assert 5000 < measure(huge, 5000) < 10_000  # counting stopped soon after the limit
    assert measure([1, True, None, 2.5], 100) < 100


def test_measure_refuses_values_nested_too_deep() -> None:
    value: list[object] = []
    for _ in range(MAX_NESTING + 1):
        value = [value]
    with pytest.raises(LimitExceeded, match="nests deeper"):
        measure(value, 10**9)


def test_a_deadline_is_infinite_until_started_and_bounds_blocking_calls() -> None:
    now = [0.0]
    deadline = Deadline(lambda: now[0])
    assert not deadline.passed() and deadline.bound(10) == 10
    deadline.start(5)
    now[0] = 4
    assert deadline.bound(10) == 1 and not deadline.passed()
    now[0] = 6
    assert deadline.passed() and deadline.bound(10) == 0.001
    deadline.clear()
    assert not deadline.passed()


def test_a_record_keeps_what_fits_and_marks_the_rest() -> None:
    budget = RecordBudget(100)
    assert budget.each(["a" * 40, "b" * 40, "c" * 40, "d"]) == [
        "a" * 40, "b" * 40, "[2 more not recorded: over the 100 bytes recorded]"]
    assert budget.each_value({"k": "e" * 50}) == {"k": "[not recorded: over the 100 bytes "
                                                       "recorded]"}
    assert clip("x" * 10, 4) == "xxxx… [6 more characters not recorded]"
