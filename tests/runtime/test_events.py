"""Which event triggers a recorded PlexiFact event matches: type, source, name, filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flexor_iac.controlplane.events import PlexiFactEvent
from flexor_iac.runtime.events import matches

EVENT = PlexiFactEvent(7, "staging", "fund.positions.updated", "plexifact",
                       {"fund_id": "GLOBAL-EQ-1", "rows": "3", "urgent": "true"},
                       datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "olga")
TRIGGER = {"type": "event", "source": "plexifact", "event": "fund.positions.updated"}


def _trigger(**changes: Any) -> dict[str, Any]:
    return {key: value for key, value in {**TRIGGER, **changes}.items() if value is not None}


@pytest.mark.parametrize("trigger", [
    TRIGGER,
    _trigger(source=None),  # no source: any source
    _trigger(filter={}),
    _trigger(filter={"fund_id": "GLOBAL-EQ-1"}),
    _trigger(filter={"fund_id": "GLOBAL-EQ-1", "rows": 3}),  # compared as text
    _trigger(filter={"urgent": True}),  # YAML's true is the text true
    _trigger(filter={"fund_id": ["EU-BOND-2", "GLOBAL-EQ-1"]}),  # one of a list
    _trigger(filter={"fund_id": "{{ vault.fund }}"}),  # a template matches anything
    _trigger(filter={"fund_id": ["EU-BOND-2", "{{ vault.fund }}"]}),
], ids=["name-and-source", "any-source", "empty-filter", "filter", "number-as-text", "boolean",
        "list", "template", "template-in-list"])
def test_a_trigger_matches(trigger: dict[str, Any]) -> None:
    assert matches(trigger, EVENT)


@pytest.mark.parametrize("trigger", [
    _trigger(type="schedule"),
    {"type": "manual"},
    _trigger(source="custodian"),
    _trigger(event="fund.positions.deleted"),
    _trigger(event=None),
    _trigger(filter={"fund_id": "EU-BOND-2"}),
    _trigger(filter={"fund_id": "global-eq-1"}),  # case counts
    _trigger(filter={"rows": 3.0}),
    _trigger(filter={"urgent": False}),
    _trigger(filter={"fund_id": ["EU-BOND-2", "US-EQ-3"]}),
    _trigger(filter={"fund_id": []}),
    _trigger(filter={"fund_id": "GLOBAL-EQ-1", "desk": "rates"}),  # a key the event lacks
    _trigger(filter={"desk": "{{ vault.desk }}"}),  # even a template needs the key
], ids=["schedule", "manual", "other-source", "other-name", "no-name", "other-value", "case",
        "other-number", "other-boolean", "not-in-list", "empty-list", "missing-key",
        "missing-key-template"])
def test_a_trigger_does_not_match(trigger: dict[str, Any]) -> None:
    assert not matches(trigger, EVENT)


def test_event_data_of_other_types_compares_as_text_too() -> None:
    event = PlexiFactEvent(8, "staging", "feed.refreshed", "plexifact",
                           {"rows": 42, "late": False, "note": None},
                           datetime(2026, 3, 1, tzinfo=UTC), "server")
    trigger = {"type": "event", "event": "feed.refreshed"}
    assert matches({**trigger, "filter": {"rows": "42", "late": "false"}}, event)
    assert matches({**trigger, "filter": {"rows": 42, "late": False, "note": None}}, event)
    assert not matches({**trigger, "filter": {"late": "False"}}, event)
