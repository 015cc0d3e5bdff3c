"""The shared provider behaviour: pure diff, unknown-tolerant, full outputs, stable ids."""

from __future__ import annotations

from flexor_iac.resources.base import (
    APPLIED_KEY,
    PROVIDER_KEY,
    UNKNOWN,
    FlexorProvider,
    changed_fields,
)

OLD = {"name": "x", "environment": "staging", "version": "1.0", "spec": {"a": 1},
       PROVIDER_KEY: "pickled-old", APPLIED_KEY: True}


def test_no_change_means_no_diff() -> None:
    result = FlexorProvider().diff("id", OLD, {**OLD, PROVIDER_KEY: "pickled-new"})
    assert result.changes is False
    assert result.replaces == []


def test_changed_fields_are_named_and_bookkeeping_ignored() -> None:
    news = {k: v for k, v in OLD.items() if k != APPLIED_KEY}
    assert changed_fields(OLD, {**news, "version": "1.1", PROVIDER_KEY: "other"}) == ["version"]


def test_a_refresh_that_found_the_resource_missing_is_a_change() -> None:
    assert changed_fields({**OLD, APPLIED_KEY: False}, OLD) == ["control_plane"]


def test_unknown_values_during_preview_count_as_changes() -> None:
    result = FlexorProvider().diff("id", OLD, {**OLD, "spec": {"a": UNKNOWN}})
    assert result.changes is True


def test_environment_change_replaces() -> None:
    result = FlexorProvider().diff("id", OLD, {**OLD, "environment": "production"})
    assert result.changes is True and result.replaces == ["environment"]


def test_check_passes_inputs_through_unchanged() -> None:
    result = FlexorProvider().check({}, dict(OLD))
    assert result.inputs == OLD and result.failures == []


def test_whole_numbers_restores_the_integers_pulumi_turned_into_doubles() -> None:
    from flexor_iac.resources.base import whole_numbers

    assert whole_numbers({"a": [30.0, 0.5, True, "7"], "b": {"c": -2.0}}) == {
        "a": [30, 0.5, True, "7"], "b": {"c": -2}}
    assert isinstance(whole_numbers({"x": 30.0})["x"], int)
