"""Keys and roles made straight in a project's control plane (the CLI tests make them too)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flexor_iac.access import keys
from flexor_iac.controlplane.access import ALL_VAULTS, Grant, StoredKey
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock


def issue_key(store: ControlPlane, user: str, *scopes: str, role: str | None = "admin",
              expires_at: datetime | None = None, vault: str = ALL_VAULTS,
              acts_as: str | None = None) -> str:
    """A key of `user` with `scopes` (and `role` on `vault`); returns its secret."""
    key_id, secret = keys.new_key()
    store.add_key(StoredKey(key_id, f"{user}-key", user, scopes, keys.hash_key(secret),
                            clock.now() - timedelta(days=1), expires_at, None, acts_as,
                            acts_as))
    if role is not None:
        store.grant(Grant(user, vault, role, clock.now(), "test"))
    return secret
