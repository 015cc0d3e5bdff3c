"""`flexor requests list|show`, `flexor approve` and `flexor reject`: managed production
deployment requests."""

from __future__ import annotations

from tabulate import tabulate

from flexor_iac.access import windows
from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.serving import ALIVE
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import managed


def _windows(paths: ProjectPaths, store: ControlPlane) -> list[windows.Window]:
    """Production's maintenance windows (what the server applies requests in)."""
    return managed.configured(Gate(paths.root, store).protection(Environment.PRODUCTION).windows)


def _schedules(paths: ProjectPaths, store: ControlPlane,
               requests: list[DeploymentRequest]) -> dict[str, str]:
    """When the server applies each request, or why not (and whether a server is there)."""
    configured, now = _windows(paths, store), clock.now()
    served = bool(store.live_servers(Environment.PRODUCTION.value, now - ALIVE))
    found = {}
    for request in requests:
        text = managed.schedule(request, configured, now)
        if request.status == "approved" and not managed.reapprovable(request) and not served:
            text += ("; no server serves production now: start `flexor serve --env "
                     "production`, or apply it by hand in a window")
        found[request.request_id] = text
    return found


def _document(request: DeploymentRequest, scheduled: str) -> dict[str, object]:
    return {"request_id": request.request_id, "environment": request.environment,
            "status": request.status, "digest": request.digest,
            "requested_by": request.requested_by,
            "requested_at": request.requested_at.isoformat(),
            "review_ends": managed.review_ends(request).isoformat(),
            "approved_by": request.approved_by,
            "approved_at": request.approved_at.isoformat() if request.approved_at else None,
            "applied_at": request.applied_at.isoformat() if request.applied_at else None,
            "attempted_at": request.attempted_at.isoformat() if request.attempted_at else None,
            "attempt": request.attempt, "note": request.note, "scheduled": scheduled,
            "plan": request.plan["plan"]}


def list_requests(paths: ProjectPaths, console: Console) -> int:
    """Every request, newest first."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("requests list")
        found = store.requests()
        scheduled = _schedules(paths, store, found)
    console.document([_document(r, scheduled[r.request_id]) for r in found])
    if not found:
        console.line("No deployment requests.")
        return ExitCode.OK
    rows = [[r.request_id, r.environment, r.status, r.requested_by,
             f"{r.requested_at:%Y-%m-%d %H:%M UTC}",
             f"{managed.review_ends(r):%Y-%m-%d %H:%M UTC}", r.approved_by or "",
             scheduled[r.request_id]] for r in found]
    console.line(tabulate(rows, headers=("REQUEST", "ENV", "STATUS", "BY", "REQUESTED",
                                         "REVIEW ENDS", "APPROVED BY", "SCHEDULE"),
                          tablefmt="plain"))
    return ExitCode.OK


def show(paths: ProjectPaths, request_id: str, console: Console) -> int:
    """One request and the plan it fixes."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("requests show")
        request = managed.found(store.request(request_id), request_id)
        scheduled = _schedules(paths, store, [request])[request.request_id]
    console.document(_document(request, scheduled))
    console.line(f"Request {request.request_id} for {request.environment}: {request.status}")
    console.line(f"  requested by {request.requested_by} at "
                 f"{windows.describe(request.requested_at)}")
    console.line(f"  staging review until {windows.describe(managed.review_ends(request))}")
    if request.approved_by and request.approved_at:
        console.line(f"  approved by {request.approved_by} at "
                     f"{windows.describe(request.approved_at)}")
    console.line(f"  {scheduled}")
    console.line(f"  plan {request.digest}:")
    for change in request.plan["plan"]["changes"]:
        versions = " → ".join(v for v in (change["from_version"], change["to_version"]) if v)
        line = f"    {change['op']} {change['kind']} {change['resource']} {versions}"
        console.line(line.rstrip())
    return ExitCode.OK


def _decider(paths: ProjectPaths, store: ControlPlane, verb: str, request_id: str
             ) -> tuple[DeploymentRequest, str]:
    """The request, and who decides on it: the key's user, with an admin's role on every vault
    it touches (without access control, whoever runs flexor)."""
    gate = Gate(paths.root, store)
    principal = gate.require(verb)
    request = managed.found(store.request(request_id), request_id)
    if principal is None:
        return request, local_actor()
    gate.require_role(principal, request.plan["vaults"] or ["*"], "admin",
                      f"{verb} request {request_id}")
    return request, principal.user


def approve(paths: ProjectPaths, request_id: str, console: Console) -> int:
    """Approve a request: an admin who did not make it, after the 48-hour staging review."""
    now = clock.now()
    with ControlPlane.of(paths, create=False) as store:
        request, approver = _decider(paths, store, "approve", request_id)
        managed.check_approval(request, approver, now)
        again = managed.reapprovable(request)
        store.approve_request(request_id, approver, now)
        opening = windows.next_opening(_windows(paths, store), now)
    console.document({"request_id": request_id, "status": "approved", "approved_by": approver,
                      "applies_at": opening.isoformat()})
    console.line(f"Approved {request_id}{' again' if again else ''}. The server (`flexor serve "
                 f"--env {request.environment}`) applies it at {windows.describe(opening)}; "
                 f"or by hand inside a window: flexor deploy --request {request_id} --env "
                 f"{request.environment}")
    return ExitCode.OK


def reject(paths: ProjectPaths, request_id: str, console: Console) -> int:
    """Reject a pending request: an admin who did not make it (at any time of its review)."""
    now = clock.now()
    with ControlPlane.of(paths, create=False) as store:
        request, decider = _decider(paths, store, "reject", request_id)
        if request.status != "pending":
            raise PolicyRefusal(f"refused: request {request_id} is {request.status}")
        if decider == request.requested_by:
            raise PolicyRefusal(f"refused: {decider} made request {request_id}; someone else "
                                "must reject it")
        if not store.reject_request(request_id, decider, now):
            raise PolicyRefusal(f"refused: request {request_id} is no longer pending")
    console.document({"request_id": request_id, "status": "rejected", "rejected_by": decider})
    console.line(f"Rejected {request_id}: it is never applied (a new `flexor deploy --env "
                 f"{request.environment}` makes a new request).")
    return ExitCode.OK
