"""PLEXI-managed production: a change is a request, reviewed 48 h in staging, approved by
someone else, and applied — exactly as planned — only inside a maintenance window."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flexor_iac.access import windows
from flexor_iac.controlplane.requests import REAPPROVABLE, DeploymentRequest
from flexor_iac.core.errors import FlexorError, PolicyRefusal
from flexor_iac.deploy import plan as plans
from flexor_iac.project.digest import json_digest
from flexor_iac.project.models import MaintenanceWindow

REVIEW_PERIOD = timedelta(hours=48)


def plan_digest(plan: plans.Plan) -> str:
    """What a request fixes: the plan itself (the project and the state it applies to)."""
    return json_digest(plans.to_json(plan))


def new_request(plan: plans.Plan, vaults: list[str], user: str,
                now: datetime) -> DeploymentRequest:
    """A pending request for `plan`."""
    document: dict[str, Any] = {"plan": plans.to_json(plan), "vaults": sorted(vaults)}
    return DeploymentRequest(f"R-{secrets.token_hex(4)}", plan.environment.value, document,
                             plan_digest(plan), user, now, "pending")


def review_ends(request: DeploymentRequest) -> datetime:
    """When the staging review of a request is over."""
    return request.requested_at + REVIEW_PERIOD


def found(request: DeploymentRequest | None, request_id: str) -> DeploymentRequest:
    """The request, or a clear error."""
    if request is None:
        raise FlexorError(f"no deployment request {request_id} (see `flexor requests list`)")
    return request


def check_approval(request: DeploymentRequest, approver: str, now: datetime) -> None:
    """Refuse an approval by the requester, of a request not pending, or before the review."""
    if request.status != "pending" and not reapprovable(request):
        raise PolicyRefusal(f"refused: request {request.request_id} is {request.status}")
    if approver == request.requested_by:
        raise PolicyRefusal(f"refused: {approver} made request {request.request_id}; "
                            "someone else must approve it")
    if now < review_ends(request):
        raise PolicyRefusal(f"refused: request {request.request_id} is in staging review until "
                            f"{windows.describe(review_ends(request))}")


def reapprovable(request: DeploymentRequest) -> bool:
    """An approved request the server did not apply (stale or refused): a new approval hands it
    back to the server."""
    return request.status == "approved" and request.attempt in REAPPROVABLE


def configured(maintenance_windows: Sequence[dict[str, Any]]) -> list[windows.Window]:
    """The windows a recorded protection lists (the default when none)."""
    return windows.windows([MaintenanceWindow.model_validate(w) for w in maintenance_windows])


def check_apply(request: DeploymentRequest, configured_windows: Sequence[dict[str, Any]],
                now: datetime) -> None:
    """Refuse to apply a request that is not approved, or outside the maintenance window."""
    if request.status == "pending":
        raise PolicyRefusal(f"refused: request {request.request_id} is not approved yet "
                            f"(`flexor approve {request.request_id}` after "
                            f"{windows.describe(review_ends(request))})")
    if request.status != "approved":
        raise PolicyRefusal(f"refused: request {request.request_id} is {request.status}")
    open_windows = configured(configured_windows)
    if not windows.is_open(open_windows, now):
        opening = windows.next_opening(open_windows, now)
        raise PolicyRefusal(f"refused: production changes are applied in the maintenance "
                            f"window; the next opens {windows.describe(opening)}")


def check_same_plan(request: DeploymentRequest, plan: plans.Plan) -> None:
    """Refuse when the plan now differs from the approved one."""
    if plan_digest(plan) != request.digest:
        raise PolicyRefusal(f"refused: the plan differs from the one approved in request "
                            f"{request.request_id} (the project or production changed since); "
                            "make a new request")


def label(request: DeploymentRequest) -> str:
    """How an update applying `request` names it in the stack's history."""
    return (f"--request {request.request_id} (requested by {request.requested_by}, approved by "
            f"{request.approved_by})")


# --- the server's part (commands/applier.py; docs/decisions/021) ---------------------------

SERVER = "flexor-server"
RETRIED = ("applying", "failed")  # tried again, once, in the next window


def server_actor(request: DeploymentRequest) -> str:
    """Who a deploy the server makes of `request` is recorded as (FLEXOR_ACTOR)."""
    return f"{SERVER} for {request.approved_by} (requested by {request.requested_by})"


def due(request: DeploymentRequest, open_windows: Sequence[windows.Window],
        now: datetime) -> bool:
    """Whether the server applies `request` now: approved, a window open, and not tried in
    this opening (a failed or interrupted attempt is tried again in the next one; a stale or
    refused one waits for a new approval)."""
    opened = windows.opened_at(open_windows, now)
    if request.status != "approved" or opened is None:
        return False
    if request.attempt is None:
        return True
    return request.attempt in RETRIED and (request.attempted_at is None
                                           or request.attempted_at < opened)


def schedule(request: DeploymentRequest, open_windows: Sequence[windows.Window],
             now: datetime) -> str:
    """When the server applies `request`, or why it does not."""
    when = windows.describe(request.attempted_at) if request.attempted_at else "?"
    if request.status == "pending":
        return (f"in staging review until {windows.describe(review_ends(request))}; once "
                "another admin approves it, the server applies it in the next window")
    if request.status == "applied":
        return f"applied at {windows.describe(request.applied_at or now)}" + (
            f" ({request.note})" if request.attempt == "applied" and request.note else "")
    if request.status != "approved":
        return request.status
    if request.attempt in REAPPROVABLE:
        return (f"not applied: {request.note} ({request.attempt}, {when}); the server does "
                f"not try it again until it is approved again (`flexor approve "
                f"{request.request_id}`), or make a new request")
    if due(request, open_windows, now):
        return "applies now (by the server: a window is open)"
    if request.attempt in RETRIED:
        opened = windows.opened_at(open_windows, now)
        if request.attempt == "applying" and opened is not None and request.attempted_at \
                and request.attempted_at >= opened:
            return f"being applied by the server since {when}"
        again = windows.next_opening_after(open_windows, request.attempted_at or now)
        if again < now:  # that opening passed with no server to try
            again = windows.next_opening(open_windows, now)
        why = request.note if request.attempt == "failed" else "the server stopped"
        return (f"the attempt at {when} did not apply it ({why}); the server tries again at "
                f"{windows.describe(again)}")
    return f"applies at {windows.describe(windows.next_opening(open_windows, now))} " \
           "(by the server)"
