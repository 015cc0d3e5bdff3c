"""Trust rules: which OIDC tokens the team server exchanges for a short-lived API key
(access/oidc.py); a group of ControlPlane's records (SQL only here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.records import Records

# What a key minted by a rule records as its maker: `trust:<rule id>`.
MAKER_PREFIX = "trust:"


@dataclass(frozen=True)
class TrustRule:
    """A token of `issuer` for `audience` whose claims equal `claims` is exchanged for a key
    of `user` with `scopes`."""

    rule_id: str
    issuer: str
    audience: str
    claims: dict[str, str]  # repository_id, and optionally environment and ref
    scopes: tuple[str, ...]
    user: str
    created_by: str
    created_at: datetime

    @property
    def maker(self) -> str:
        """What the keys it mints record as their maker."""
        return MAKER_PREFIX + self.rule_id


_COLUMNS = 'rule_id, issuer, audience, claims, scopes, "user", created_by, created_at'


def _rule(row: Any) -> TrustRule:
    return TrustRule(row[0], row[1], row[2], dict(json.loads(row[3])), tuple(json.loads(row[4])),
                     row[5], row[6], datetime.fromisoformat(row[7]))


class TrustRecords(Records):
    """Methods ControlPlane gains for trust rules."""

    def add_trust_rule(self, rule: TrustRule) -> None:
        """Store a new trust rule."""
        with self._write():
            self._db.execute(f"INSERT INTO trust_rules ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                             (rule.rule_id, rule.issuer, rule.audience,
                              json.dumps(rule.claims, sort_keys=True),
                              json.dumps(list(rule.scopes)), rule.user, rule.created_by,
                              rule.created_at.isoformat()))

    def trust_rule(self, rule_id: str) -> TrustRule | None:
        """One rule by its id."""
        row = self._db.execute(f"SELECT {_COLUMNS} FROM trust_rules WHERE rule_id=?",
                               (rule_id,)).fetchone()
        return _rule(row) if row else None

    def trust_rules(self, issuer: str | None = None) -> list[TrustRule]:
        """Every rule (of one issuer), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM trust_rules"
        rows = (self._db.execute(sql + " WHERE issuer=? ORDER BY created_at, rule_id", (issuer,))
                if issuer is not None else
                self._db.execute(sql + " ORDER BY created_at, rule_id"))
        return [_rule(row) for row in rows]

    def remove_trust_rule(self, rule_id: str, when: datetime) -> int | None:
        """Remove a rule and, in the same transaction, revoke the keys it minted that are still
        unrevoked; how many were revoked, or None when there is no such rule."""
        with self._write():
            cursor = self._db.execute("DELETE FROM trust_rules WHERE rule_id=?", (rule_id,))
            if cursor.rowcount != 1:
                return None
            revoked = self._db.execute(
                "UPDATE api_keys SET revoked_at=? WHERE created_by=? AND revoked_at IS NULL",
                (when.isoformat(), MAKER_PREFIX + rule_id))
        return int(revoked.rowcount)
