"""What a stack's state records, as flexor reads it: its operations (HistoryEntry) and its flexor
resources (DeployedResource). The engine's answers (deploy/stacks.py) and the state's files
read without the engine (controlplane/pulumi_files.py) map to the same values here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TYPE_PREFIX = "pulumi-python:dynamic/flexor:"
# Pulumi's marker of a secret value in a state ({SECRET_SIG: SECRET_VALUE, "ciphertext": …}
# as stored; "plaintext" once the engine decrypted it).
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
HIDDEN = "[secret]"


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded stack operation (newest first in lists)."""

    kind: str
    result: str
    start_time: datetime
    end_time: datetime | None
    message: str
    resource_changes: dict[str, int]


@dataclass(frozen=True)
class DeployedResource:
    """A flexor resource as the stack's state records it."""

    kind: str
    name: str
    urn: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


def flexor_resources(deployment: dict[str, Any]) -> list[DeployedResource]:
    """The flexor resources of a deployment (`checkpoint.latest`, or the engine's export)."""
    found = []
    for resource in deployment.get("resources") or []:
        kind = str(resource.get("type", ""))
        if kind.startswith(TYPE_PREFIX):
            urn = str(resource["urn"])
            inputs = {k: v for k, v in (resource.get("inputs") or {}).items()
                      if k != "__provider"}
            found.append(DeployedResource(kind.removeprefix(TYPE_PREFIX),
                                          urn.rsplit("::", 1)[-1], urn, inputs,
                                          dict(resource.get("outputs") or {})))
    return found


def _moment(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def history_entry(raw: dict[str, Any]) -> HistoryEntry:
    """One operation from its history file (`<stack>-<ns>.history.json`), as the engine's
    `pulumi stack history` gives it: times in whole seconds, UTC; no end while in progress."""
    ended = raw.get("result") != "in-progress" and raw.get("endTime") is not None
    return HistoryEntry(str(raw.get("kind", "")), str(raw.get("result", "")),
                        _moment(raw.get("startTime") or 0),
                        _moment(raw["endTime"]) if ended else None,
                        str(raw.get("message") or ""),
                        {str(k): int(v) for k, v in (raw.get("resourceChanges") or {}).items()})


def hide_secrets(value: Any) -> Any:
    """`value` with each secret in it (encrypted or decrypted) replaced by `[secret]`."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return HIDDEN
        return {k: hide_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hide_secrets(v) for v in value]
    return value
