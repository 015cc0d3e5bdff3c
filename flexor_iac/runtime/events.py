"""Which agents a PlexiFact event fires: an event trigger's source, event name and filter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flexor_iac.controlplane.events import PlexiFactEvent

TEMPLATE_MARK = "{{"


def matches(trigger: Mapping[str, Any], event: PlexiFactEvent) -> bool:
    """Whether an agent's `trigger` (its spec's mapping) fires on `event`.

    True iff the trigger's type is `event`, its `source` is unset or the event's source, its
    `event` is the event's name, and every `filter` key is in the event's data with a value
    the filter accepts. Values compare as text (the CLI's `--data` values are text), booleans
    and null spelled as YAML and JSON write them (`true`, `false`, `null`): `rows: 3` accepts
    "3", `urgent: true` accepts "true". A list accepts any one of its items. A template (text
    holding `{{`) cannot be rendered without a run, so it accepts any value — the key must
    still be in the data.
    """
    if trigger.get("type") != "event" or trigger.get("event") != event.name:
        return False
    if trigger.get("source") not in (None, event.source):
        return False
    wanted = trigger.get("filter") or {}
    return all(key in event.data and _accepts(value, event.data[key])
               for key, value in wanted.items())


def _accepts(wanted: Any, value: Any) -> bool:
    if isinstance(wanted, list):
        return any(_accepts(item, value) for item in wanted)
    if isinstance(wanted, str) and TEMPLATE_MARK in wanted:
        return True
    return _text(wanted) == _text(value)


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)
