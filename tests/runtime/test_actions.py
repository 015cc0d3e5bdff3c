"""Standard-library actions: typed arguments, results, and the validator's registry."""

from __future__ import annotations

from typing import Any

import pytest

from flexor_iac.project.stdlib import ACTIONS, OPEN_ARGUMENTS
from flexor_iac.runtime.actions import LIBRARY, ActionFailed


class _Context:
    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}


def test_the_validator_knows_exactly_the_actions_the_runtime_has() -> None:
    assert set(LIBRARY) == set(ACTIONS)
    for name, action in LIBRARY.items():
        if name not in OPEN_ARGUMENTS:
            assert action.argument_names() == ACTIONS[name], name


def test_diff_minutes_counts_whole_minutes_across_zones() -> None:
    diff = LIBRARY["core.time.diff_minutes"]
    assert diff(_Context(), {"from": "2026-11-26T12:00:00+00:00",  # type: ignore[arg-type]
                             "to": "2026-11-26T13:29:59+01:00"}) == 29
    with pytest.raises(ActionFailed, match="bad arguments: from"):
        diff(_Context(), {"from": "yesterday", "to": "2026-11-26T12:00"})  # type: ignore[arg-type]


def test_set_output_sets_the_skill_outputs() -> None:
    context = _Context()
    LIBRARY["core.logic.set_output"](context, {"a": 1})  # type: ignore[arg-type]
    assert context.outputs == {"a": 1}


def test_compare_positions_reports_differences_over_the_threshold_and_one_sided_rows() -> None:
    result = LIBRARY["core.reconcile.compare_positions"](_Context(), {  # type: ignore[arg-type]
        "left": [{"instrument": "A", "quantity": 10}, {"instrument": "B", "quantity": 5},
                 {"instrument": "C", "quantity": 1}],
        "right": [{"instrument": "A", "quantity": 10.5}, {"instrument": "B", "quantity": 9}],
        "threshold": 1})
    assert result == {"count": 2, "matched": 1, "discrepancies": [
        {"instrument": "B", "left": 5.0, "right": 9.0, "difference": -4.0},
        {"instrument": "C", "left": 1.0, "right": None, "difference": 1.0}]}


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(ActionFailed, match="bad arguments: colour"):
        LIBRARY["core.notify.slack"](_Context(), {"message": "m", "colour": "red"})  # type: ignore[arg-type]
