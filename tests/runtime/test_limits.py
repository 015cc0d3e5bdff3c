"""A run's limits: its deadline, and what its record keeps."""

from __future__ import annotations

from flexor_iac.runtime.limits import Deadline, RecordBudget, clip


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
