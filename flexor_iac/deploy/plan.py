"""The plan a deploy shows (and then applies): model, text rendering, versioned JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt

from flexor_iac.core.constants import Environment
from flexor_iac.core.output import Console
from flexor_iac.deploy.stacks import EngineResult, ResourceStep
from flexor_iac.project.selection import Skipped
from flexor_iac.resources.base import APPLIED_KEY, PROVIDER_KEY

FORMAT_VERSION = 1
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "+-"}
_NESTED = {"spec", "config", "skills"}  # inputs whose sub-keys are worth naming
# Derived from other fields, or shown as the version transition: not listed as changed fields.
_DERIVED = {"digest", "version", "spec.version"}


@dataclass(frozen=True)
class Change:
    """One resource that the deploy creates, updates, deletes or replaces."""

    kind: str
    name: str
    op: str
    from_version: str | None
    to_version: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Held:
    """An agent kept at a rolled-back version while its file still says the bad one."""

    name: str
    version: str
    rolled_back_from: str


@dataclass(frozen=True)
class Plan:
    """What a deploy to one environment does, and what it leaves out."""

    environment: Environment
    changes: tuple[Change, ...]
    skipped: tuple[Skipped, ...]
    unchanged: int
    held: tuple[Held, ...] = ()

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan would change anything."""
        return bool(self.changes)

    def summary(self) -> dict[str, int]:
        """Counts per operation, plus unchanged and skipped."""
        counts = Counter(change.op for change in self.changes)
        return {"create": counts["create"], "update": counts["update"],
                "replace": counts["replace"], "delete": counts["delete"],
                "unchanged": self.unchanged, "skipped": len(self.skipped)}


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, ...]:
    """Names of the inputs that differ, one level deep for spec/config/skills."""
    if not old or not new:
        return ()
    found = []
    for key in sorted((set(old) | set(new)) - {PROVIDER_KEY}):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in _NESTED and isinstance(before, dict) and isinstance(after, dict):
            found += [f"{key}.{sub}" for sub in sorted(set(before) | set(after))
                      if before.get(sub) != after.get(sub)]
        else:
            found.append(key)
    return tuple(f for f in found if f not in _DERIVED)


def _change(step: ResourceStep) -> Change:
    old_version = (step.old_inputs or {}).get("version")
    new_version = (step.new_inputs or {}).get("version")
    fields = changed_fields(step.old_inputs, step.new_inputs)
    if (step.old_outputs or {}).get(APPLIED_KEY) is False:  # a refresh found drift: a repair
        fields = (*fields, "control_plane")
    return Change(step.kind, step.name, step.op,
                  old_version if step.op != "create" else None,
                  new_version if step.op != "delete" else None, fields)


def _held(step: ResourceStep) -> Held | None:
    hold = (step.old_inputs or {}).get("hold")
    new_version = (step.new_inputs or {}).get("version")
    if step.op == "same" and isinstance(hold, dict) and hold.get("from") == new_version:
        return Held(step.name, str(hold.get("version")), str(new_version))
    return None


def build_plan(env: Environment, preview: EngineResult, skipped: tuple[Skipped, ...]) -> Plan:
    """The plan from an engine preview of one environment."""
    changes = tuple(_change(s) for s in preview.steps if s.op != "same")
    unchanged = sum(1 for s in preview.steps if s.op == "same")
    held = tuple(h for s in preview.steps if (h := _held(s)) is not None)
    return Plan(env, changes, skipped, unchanged, held)


def agent_transitions(plan: Plan) -> str:
    """`feed-monitor 1.0 → 1.1, other + 0.1` — recorded as the update's message in history."""
    parts = []
    for change in plan.changes:
        if change.kind == "Agent":
            versions = f"{change.from_version or '+'} → {change.to_version or '-'}"
            parts.append(f"{change.name} {versions}")
    return ", ".join(parts)


def change_line(change: Change) -> str:
    """`~ Agent feed-monitor  1.2 → 1.3  (spec.retry)`."""
    text = f"{SYMBOLS.get(change.op, '?'):>2} {change.kind} {change.name}"
    if change.from_version and change.to_version and change.from_version != change.to_version:
        text += f"  {change.from_version} → {change.to_version}"
    elif change.to_version and change.op == "create":
        text += f"  {change.to_version}"
    if change.fields:
        text += f"  ({', '.join(change.fields)})"
    return text


def summary_line(plan: Plan) -> str:
    """`Plan: 1 to create, 2 to update, 0 to replace, 0 to delete; 3 unchanged, 1 skipped.`"""
    s = plan.summary()
    return (f"Plan for {plan.environment.value}: {s['create']} to create, {s['update']} to update, "
            f"{s['replace']} to replace, {s['delete']} to delete; {s['unchanged']} unchanged, "
            f"{s['skipped']} skipped.")


def render(plan: Plan, console: Console) -> None:
    """Print the plan: changes, skipped objects with reasons, the summary line."""
    colours = {"create": "green", "update": "yellow", "delete": "red", "replace": "red"}
    for change in plan.changes:
        console.line(console.style(change_line(change), colours.get(change.op, "bold")))
    if not plan.changes:
        console.line("No changes.")
    for held in plan.held:
        console.line(f"   held agent {held.name} at {held.version} (rolled back from "
                     f"{held.rolled_back_from})")
    for item in plan.skipped:
        console.line(f"   skipped {item.kind} {item.name}: {item.reason}")
    console.line(summary_line(plan))


def to_json(plan: Plan) -> dict[str, Any]:
    """The versioned machine-readable plan (`--json`)."""
    return {
        "format_version": FORMAT_VERSION,
        "environment": plan.environment.value,
        "changes": [{"resource": c.name, "kind": c.kind, "op": c.op,
                     "from_version": c.from_version, "to_version": c.to_version,
                     "fields": list(c.fields)} for c in plan.changes],
        "skipped": [{"kind": s.kind, "name": s.name, "reason": s.reason} for s in plan.skipped],
        "held": [{"agent": h.name, "version": h.version, "rolled_back_from": h.rolled_back_from}
                 for h in plan.held],
        "summary": plan.summary(),
    }


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeDocument(_Document):
    """One change as `to_json` writes it."""

    resource: str
    kind: str
    op: Literal["create", "update", "delete", "replace"]
    from_version: str | None
    to_version: str | None
    fields: tuple[str, ...]


class SkippedDocument(_Document):
    """One left-out object as `to_json` writes it."""

    kind: str
    name: str
    reason: str


class HeldDocument(_Document):
    """One held agent as `to_json` writes it."""

    agent: str
    version: str
    rolled_back_from: str


class SummaryDocument(_Document):
    """The counts as `to_json` writes them."""

    create: NonNegativeInt
    update: NonNegativeInt
    replace: NonNegativeInt
    delete: NonNegativeInt
    unchanged: NonNegativeInt
    skipped: NonNegativeInt


class PlanDocument(_Document):
    """The versioned plan as `to_json` writes it (read back from a saved plan or a record)."""

    format_version: Literal[1]
    environment: Environment
    changes: tuple[ChangeDocument, ...]
    skipped: tuple[SkippedDocument, ...]
    held: tuple[HeldDocument, ...]
    summary: SummaryDocument

    def plan(self) -> Plan:
        """The plan this document holds."""
        return Plan(self.environment,
                    tuple(Change(c.kind, c.resource, c.op, c.from_version, c.to_version,
                                 c.fields) for c in self.changes),
                    tuple(Skipped(s.kind, s.name, s.reason) for s in self.skipped),
                    self.summary.unchanged,
                    tuple(Held(h.agent, h.version, h.rolled_back_from) for h in self.held))


def from_json(doc: object) -> Plan:
    """The plan of a `to_json` document; pydantic's ValidationError (a ValueError) when it is
    not one."""
    return PlanDocument.model_validate(doc).plan()
