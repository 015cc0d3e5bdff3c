"""The server's part of a PLEXI-managed production: each approved request is applied when its
maintenance window opens, by the serve process of production (docs/decisions/021).

A due request is claimed in the control plane (one transaction: approved, and not attempted
since it was read, so of several servers exactly one takes it), then applied by a child
`flexor deploy --env production --request R --yes` — the very path a person runs, with its
checks (approved, window open, the plan equal to the approved one) under the environment's
operation lock, its history and its recovery — recorded as `flexor-server for <approver>
(requested by <requester>)`. How it ended is recorded on the request: applied; stale or
refused (not tried again until it is approved again); failed (tried again, once, in the next
window).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.workspace import ProjectPaths, private_dir
from flexor_iac.deploy import managed

PRODUCTION = Environment.PRODUCTION
INTERVAL = 30.0  # seconds between two looks for due requests
LOCK_WAIT = "5m"  # how long an attempt waits for another operation on production
FOLLOW = 0.25  # seconds between two looks at a running deploy's output
STALE = "the plan differs from the one approved"
# Refusals that say nothing against the request: the attempt is tried again next window.
TRANSIENT = ("is locked by another flexor operation", "applied in the maintenance window")

Say = Callable[[str], None]


@dataclass(frozen=True)
class Deployed:
    """How a child deploy ended: its exit code and its last error line."""

    code: int
    error: str


Deploy = Callable[[ProjectPaths, DeploymentRequest, Say], Deployed]


@dataclass(frozen=True)
class Attempt:
    """One request the server tried, and how that ended (controlplane.requests.ATTEMPTS)."""

    request_id: str
    outcome: str
    note: str


def due(paths: ProjectPaths) -> list[DeploymentRequest]:
    """The approved production requests the server applies now (none unless production is
    PLEXI-managed and a window is open), oldest first."""
    with ControlPlane.of(paths, create=False) as store:
        protection = Gate(paths.root, store).protection(PRODUCTION)
        if not protection.managed:
            return []
        open_windows = managed.configured(protection.windows)
        now = clock.now()
        found = [r for r in store.requests()
                 if r.environment == PRODUCTION.value and managed.due(r, open_windows, now)]
    return sorted(found, key=lambda r: (r.requested_at, r.request_id))


def apply_due(paths: ProjectPaths, say: Say, deploy: Deploy | None = None) -> list[Attempt]:
    """Apply every due request, one after the other; what each attempt came to."""
    attempts = []
    for request in due(paths):
        with ControlPlane.of(paths, create=False) as store:
            if not store.claim_request(request, clock.now(),
                                       f"being applied by {managed.SERVER}"):
                continue  # another server took it, or it changed since it was read
        say(f"request {request.request_id}: a maintenance window is open; applying it to "
            f"production as {managed.server_actor(request)}")
        attempt = _attempt(paths, request, say, deploy or deploy_child)
        with ControlPlane.of(paths, create=False) as store:
            store.record_attempt(request.request_id, attempt.outcome, attempt.note)
        say(f"request {request.request_id}: {attempt.outcome}: {attempt.note}")
        attempts.append(attempt)
    return attempts


def _attempt(paths: ProjectPaths, request: DeploymentRequest, say: Say,
             deploy: Deploy) -> Attempt:
    try:
        deployed = deploy(paths, request, say)
    except OSError as error:  # the child could not start
        return Attempt(request.request_id, "failed", f"the deploy did not start: {error}")
    with ControlPlane.of(paths, create=False) as store:
        now = store.request(request.request_id)
    if now is not None and now.status == "applied":
        return Attempt(request.request_id, "applied",
                       f"applied by {managed.server_actor(request)}")
    return Attempt(request.request_id, *outcome(deployed))


def outcome(deployed: Deployed) -> tuple[str, str]:
    """What a deploy that did not apply the request came to: stale, refused or failed."""
    why = deployed.error or f"the deploy ended with exit code {deployed.code}"
    if deployed.code == ExitCode.REFUSED:
        if STALE in why:
            return "stale", why
        if not any(reason in why for reason in TRANSIENT):
            return "refused", why
    return "failed", why


def deploy_child(paths: ProjectPaths, request: DeploymentRequest, say: Say) -> Deployed:
    """`flexor deploy --env production --request R --yes` in a child process, as the server
    (FLEXOR_ACTOR), its lines said as they come; its exit code and last error line.

    The child writes to a file (`.flexor/logs/request-R.log`), not to a pipe, and runs in a
    session of its own: a server that stops (SIGTERM, Ctrl-C) does not cut off an update of
    production half-way; the child finishes it on its own (decision 021)."""
    command = [sys.executable, "-m", "flexor_iac.main", "deploy", "--env", PRODUCTION.value,
               "--request", request.request_id, "--yes", "--lock-timeout", LOCK_WAIT,
               "--project-dir", str(paths.root)]
    env = {**os.environ, "FLEXOR_ACTOR": managed.server_actor(request), "NO_COLOR": "1"}
    log = private_dir(paths.logs_dir) / f"request-{request.request_id}.log"
    error = ""
    with log.open("w") as out, log.open() as reader:
        child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        pending = ""
        while True:
            ended = child.poll() is not None
            pending += reader.read()
            *lines, pending = pending.split("\n")
            for line in lines + ([pending] if ended and pending else []):
                if line.startswith("error: "):
                    error = line.removeprefix("error: ")
                say(f"  [{request.request_id}] {line}")
            if ended:
                return Deployed(child.returncode, error)
            time.sleep(FOLLOW)
