"""PLEXI-managed production: a change is a request, reviewed 48 h in staging, approved by
someone else, and applied — exactly as planned — only inside a maintenance window."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flexor_iac.access import windows
from flexor_iac.controlplane.requests import DeploymentRequest
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
    if request.status != "pending":
        raise PolicyRefusal(f"refused: request {request.request_id} is {request.status}")
    if approver == request.requested_by:
        raise PolicyRefusal(f"refused: {approver} made request {request.request_id}; "
                            "someone else must approve it")
    if now < review_ends(request):
        raise PolicyRefusal(f"refused: request {request.request_id} is in staging review until "
                            f"{windows.describe(review_ends(request))}")


def check_apply(request: DeploymentRequest, configured_windows: Sequence[dict[str, Any]],
                now: datetime) -> None:
    """Refuse to apply a request that is not approved, or outside the maintenance window."""
    if request.status == "pending":
        raise PolicyRefusal(f"refused: request {request.request_id} is not approved yet "
                            f"(`flexor approve {request.request_id}` after "
                            f"{windows.describe(review_ends(request))})")
    if request.status != "approved":
        raise PolicyRefusal(f"refused: request {request.request_id} is {request.status}")
    configured = windows.windows([MaintenanceWindow.model_validate(w)
                                  for w in configured_windows])
    if not windows.is_open(configured, now):
        opening = windows.next_opening(configured, now)
        raise PolicyRefusal(f"refused: production changes are applied in the maintenance "
                            f"window; the next opens {windows.describe(opening)}")


def check_same_plan(request: DeploymentRequest, plan: plans.Plan) -> None:
    """Refuse when the plan now differs from the approved one."""
    if plan_digest(plan) != request.digest:
        raise PolicyRefusal(f"refused: the plan differs from the one approved in request "
                            f"{request.request_id} (the project or production changed since); "
                            "make a new request")
