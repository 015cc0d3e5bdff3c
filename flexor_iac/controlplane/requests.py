"""Deployment requests of a PLEXI-managed production (deploy/managed.py): a group of
ControlPlane's records (SQL only here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.records import Records


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class DeploymentRequest:
    """A production change waiting for review, approval and the maintenance window."""

    request_id: str
    environment: str
    plan: dict[str, Any]
    digest: str
    requested_by: str
    requested_at: datetime
    status: str
    approved_by: str | None = None
    approved_at: datetime | None = None
    applied_at: datetime | None = None
    # The server's last attempt to apply it (docs/decisions/021): when, how it ended
    # (ATTEMPTS), and why.
    attempted_at: datetime | None = None
    attempt: str | None = None
    note: str | None = None


# How the server's attempt at a request ended: `applying` while it runs (or when the server
# stopped mid-apply), `failed` (the apply failed: tried again in the next window), `stale` and
# `refused` (not tried again until approved again), `applied`.
ATTEMPTS = ("applying", "failed", "stale", "refused", "applied")
# What a new approval of an approved request clears: it hands the request back to the server.
REAPPROVABLE = ("stale", "refused")

_REQUEST_COLUMNS = ("request_id, environment, plan, digest, requested_by, requested_at, status, "
                    "approved_by, approved_at, applied_at, attempted_at, attempt, note")


def _request(row: Any) -> DeploymentRequest:
    return DeploymentRequest(row[0], row[1], json.loads(row[2]), row[3], row[4],
                             datetime.fromisoformat(row[5]), row[6], row[7], _time(row[8]),
                             _time(row[9]), _time(row[10]), row[11], row[12])


class RequestRecords(Records):
    """Methods ControlPlane gains for deployment requests."""

    def add_request(self, request: DeploymentRequest) -> None:
        """Record a new deployment request."""
        with self._write():
            self._db.execute(
                f"INSERT INTO requests ({_REQUEST_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (request.request_id, request.environment, json.dumps(request.plan),
                 request.digest, request.requested_by, request.requested_at.isoformat(),
                 request.status, None, None, None, None, None, None))

    def request(self, request_id: str) -> DeploymentRequest | None:
        """One request by id."""
        row = self._db.execute(f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE request_id=?",
                               (request_id,)).fetchone()
        return _request(row) if row else None

    def requests(self) -> list[DeploymentRequest]:
        """Every request, newest first."""
        rows = self._db.execute(f"SELECT {_REQUEST_COLUMNS} FROM requests "
                                "ORDER BY requested_at DESC, request_id")
        return [_request(row) for row in rows]

    def approve_request(self, request_id: str, user: str, when: datetime) -> None:
        """Mark a pending request approved — or approve again one the server did not apply
        (stale or refused), handing it back to the server."""
        with self._write():
            self._db.execute("UPDATE requests SET status='approved', approved_by=?, "
                             "approved_at=?, attempted_at=NULL, attempt=NULL, note=NULL "
                             "WHERE request_id=? AND (status='pending' OR (status='approved' "
                             "AND attempt IN (?,?)))",
                             (user, when.isoformat(), request_id, *REAPPROVABLE))

    def reject_request(self, request_id: str, user: str, when: datetime) -> bool:
        """Mark a pending request rejected (by `user`, recorded as its decider); false when it
        is no longer pending."""
        with self._write():
            cursor = self._db.execute(
                "UPDATE requests SET status='rejected', approved_by=?, approved_at=? "
                "WHERE request_id=? AND status='pending'", (user, when.isoformat(), request_id))
        return cursor.rowcount == 1

    def claim_request(self, request: DeploymentRequest, when: datetime, note: str) -> bool:
        """Take an approved request for one attempt, as read (`request`): false when another
        server took or tried it since, or it is no longer approved."""
        seen = request.attempted_at.isoformat() if request.attempted_at else ""
        with self._write():
            cursor = self._db.execute(
                "UPDATE requests SET attempted_at=?, attempt='applying', note=? "
                "WHERE request_id=? AND status='approved' AND COALESCE(attempted_at, '')=?",
                (when.isoformat(), note, request.request_id, seen))
        return cursor.rowcount == 1

    def record_attempt(self, request_id: str, attempt: str, note: str) -> None:
        """How the server's attempt at a request ended, and why."""
        assert attempt in ATTEMPTS
        with self._write():
            self._db.execute("UPDATE requests SET attempt=?, note=? WHERE request_id=?",
                             (attempt, note, request_id))

    def mark_request_applied(self, request_id: str, when: datetime) -> None:
        """Mark an approved request applied."""
        with self._write():
            self._db.execute("UPDATE requests SET status='applied', applied_at=? "
                             "WHERE request_id=? AND status='approved'",
                             (when.isoformat(), request_id))
