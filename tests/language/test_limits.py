"""A rendering's limits: measuring the values it produces."""

from __future__ import annotations

import pytest

from flexor_iac.language.limits import MAX_NESTING, LimitExceeded, measure


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
