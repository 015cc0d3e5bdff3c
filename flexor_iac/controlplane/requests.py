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


_REQUEST_COLUMNS = ("request_id, environment, plan, digest, requested_by, requested_at, status, "
                    "approved_by, approved_at, applied_at")


def _request(row: Any) -> DeploymentRequest:
    return DeploymentRequest(row[0], row[1], json.loads(row[2]), row[3], row[4],
                             datetime.fromisoformat(row[5]), row[6], row[7], _time(row[8]),
                             _time(row[9]))


class RequestRecords(Records):
    """Methods ControlPlane gains for deployment requests."""

    def add_request(self, request: DeploymentRequest) -> None:
        """Record a new deployment request."""
        with self._write():
            self._db.execute(
                f"INSERT INTO requests ({_REQUEST_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (request.request_id, request.environment, json.dumps(request.plan),
                 request.digest, request.requested_by, request.requested_at.isoformat(),
                 request.status, None, None, None))

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
        """Mark a pending request approved."""
        with self._write():
            self._db.execute("UPDATE requests SET status='approved', approved_by=?, "
                             "approved_at=? WHERE request_id=? AND status='pending'",
                             (user, when.isoformat(), request_id))

    def mark_request_applied(self, request_id: str, when: datetime) -> None:
        """Mark an approved request applied."""
        with self._write():
            self._db.execute("UPDATE requests SET status='applied', applied_at=? "
                             "WHERE request_id=? AND status='approved'",
                             (when.isoformat(), request_id))
