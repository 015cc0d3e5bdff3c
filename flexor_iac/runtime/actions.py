"""The standard library (L1) actions, with typed arguments (one pydantic model each).

`flexor_iac.project.stdlib` holds the names and argument names the validator knows (a cheap import);
a test keeps it and this registry equal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flexor_iac.runtime.notify import Notifier
from flexor_iac.runtime.plexifact import Connector


class ActionFailed(Exception):
    """An action that failed; the message says why (the step is named by the caller)."""


class ActionContext(Protocol):
    """What an action may touch: the run's connectors and recorders."""

    notifier: Notifier
    outputs: dict[str, Any]

    def connector(self) -> Connector:
        """The environment's PlexiFact catalog (raises ActionFailed when not configured)."""
        ...

    def audit_event(self, event: dict[str, Any]) -> None:
        """Record a `core.audit.log` event in the run's audit entry."""
        ...

    def log(self, message: str) -> None:
        """A log line of the run."""
        ...


class Args(BaseModel):
    """Base of action arguments: unknown names are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DiffMinutes(Args):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class SetOutput(BaseModel):
    model_config = ConfigDict(extra="allow")


class Slack(Args):
    channel: str | None = None
    message: str


class Email(Args):
    to: str
    subject: str | None = None
    message: str


class Webhook(Args):
    url: str | None = None
    payload: Any = None


class AuditLog(Args):
    event: str
    result: Any = None
    details: Any = None


class ComparePositions(Args):
    left: list[dict[str, Any]]
    right: list[dict[str, Any]]
    threshold: float = 0
    key: str = "instrument"


class FeedMetadata(Args):
    feed: str


class Positions(Args):
    fund_id: str
    as_of: str | None = None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def diff_minutes(_ctx: ActionContext, args: DiffMinutes) -> int:
    """Whole minutes from `from` to `to` (rounded down)."""
    return math.floor((_aware(args.end) - _aware(args.start)).total_seconds() / 60)


def set_output(ctx: ActionContext, args: SetOutput) -> dict[str, Any]:
    """Set the calling skill's outputs."""
    values = dict(args.model_extra or {})
    ctx.outputs.update(values)
    return values


def slack(ctx: ActionContext, args: Slack) -> str:
    """A Slack message through the vault's slack_webhook."""
    return ctx.notifier.slack(args.channel, args.message)


def email(ctx: ActionContext, args: Email) -> str:
    """An email (recorded in the outbox)."""
    return ctx.notifier.email(args.to, args.subject, args.message)


def webhook(ctx: ActionContext, args: Webhook) -> str:
    """A JSON POST to `url` (default: the vault's webhook_url)."""
    return ctx.notifier.webhook(args.url, args.payload)


def audit_log(ctx: ActionContext, args: AuditLog) -> dict[str, Any]:
    """An event in the run's audit entry."""
    event = args.model_dump(exclude_none=True)
    ctx.audit_event(event)
    return event


def compare_positions(_ctx: ActionContext, args: ComparePositions) -> dict[str, Any]:
    """Positions whose quantities differ by more than `threshold` (or exist on one side only)."""
    def by_key(rows: list[dict[str, Any]]) -> dict[Any, float]:
        return {row[args.key]: float(row.get("quantity", 0)) for row in rows if args.key in row}
    left, right = by_key(args.left), by_key(args.right)
    discrepancies, matched = [], 0
    for key in sorted(left.keys() | right.keys(), key=str):
        ours, theirs = left.get(key), right.get(key)
        difference = (ours or 0) - (theirs or 0)
        if ours is None or theirs is None or abs(difference) > args.threshold:
            discrepancies.append({args.key: key, "left": ours, "right": theirs,
                                  "difference": difference})
        else:
            matched += 1
    return {"discrepancies": discrepancies, "count": len(discrepancies), "matched": matched}


def get_feed_metadata(ctx: ActionContext, args: FeedMetadata) -> dict[str, Any]:
    """A catalog feed's metadata (`last_ingested_at`, `row_count`)."""
    return ctx.connector().feed_metadata(args.feed)


def get_internal(ctx: ActionContext, args: Positions) -> list[dict[str, Any]]:
    """A fund's positions from the internal book."""
    return ctx.connector().positions(args.fund_id, "internal", args.as_of)


def get_custodian(ctx: ActionContext, args: Positions) -> list[dict[str, Any]]:
    """A fund's positions as the custodian reports them."""
    return ctx.connector().positions(args.fund_id, "custodian", args.as_of)


@dataclass(frozen=True)
class Action:
    """A library action: its argument model and its function."""

    arguments: type[BaseModel]
    function: Callable[[ActionContext, Any], Any]

    def argument_names(self) -> frozenset[str]:
        """The argument names the action takes (aliases where set)."""
        return frozenset(f.alias or name for name, f in self.arguments.model_fields.items())

    def __call__(self, ctx: ActionContext, raw: dict[str, Any]) -> Any:
        try:
            args = self.arguments.model_validate(raw)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}"
                                 for e in error.errors())
            raise ActionFailed(f"bad arguments: {problems}") from None
        return self.function(ctx, args)


LIBRARY: dict[str, Action] = {
    "core.time.diff_minutes": Action(DiffMinutes, diff_minutes),
    "core.logic.set_output": Action(SetOutput, set_output),
    "core.notify.slack": Action(Slack, slack),
    "core.notify.email": Action(Email, email),
    "core.notify.webhook": Action(Webhook, webhook),
    "core.audit.log": Action(AuditLog, audit_log),
    "core.reconcile.compare_positions": Action(ComparePositions, compare_positions),
    "plexifact.catalog.get_feed_metadata": Action(FeedMetadata, get_feed_metadata),
    "plexifact.positions.get_internal": Action(Positions, get_internal),
    "plexifact.positions.get_custodian": Action(Positions, get_custodian),
}
