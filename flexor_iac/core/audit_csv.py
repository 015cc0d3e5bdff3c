"""The audit entries' CSV, as `flexor audit --format csv` writes it and the console downloads
it: one column per documented field, lists and objects as JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

FIELDS = ("run_id", "agent_name", "environment", "version", "trigger_type", "trigger_at",
          "tasks_executed", "outputs", "decisions", "duration_ms", "status", "errors",
          "attempts")


def cell(value: Any) -> Any:
    """A CSV cell: lists and objects as JSON, anything else as it is."""
    return json.dumps(value, default=str) if isinstance(value, list | dict) else value


def write(out: TextIO, entries: Iterable[dict[str, Any]]) -> None:
    """The header, then one row per audit entry."""
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: cell(e.get(k)) for k in FIELDS} for e in entries)
