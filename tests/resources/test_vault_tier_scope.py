"""`flexor:VaultTierScope`: binds a snapshot to an environment in the control plane."""

from __future__ import annotations

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.resources.base import APPLIED_KEY
from flexor_iac.resources.vault_tier_scope import VaultTierScope, VaultTierScopeProvider

PROPS = {"name": "company", "environment": "staging", "tier": "L2",
         "config": {"name": "company"}, "snapshot_digest": "sha256:aa"}


def test_binding_follows_updates_and_refresh_sees_drift(store: ControlPlane) -> None:
    provider = VaultTierScopeProvider()
    created = provider.create(dict(PROPS))
    assert store.binding_digest("staging", "company") == "sha256:aa"
    updated = provider.update(created.id, created.outs, {**PROPS, "snapshot_digest": "sha256:bb"})
    assert updated.outs is not None and updated.outs["snapshot_digest"] == "sha256:bb"
    assert store.binding_digest("staging", "company") == "sha256:bb"
    # someone re-bound the old snapshot behind Pulumi's back: refresh reports it
    store.bind_vault("staging", "company", "sha256:aa", {})
    assert provider.read(created.id, updated.outs).outs[APPLIED_KEY] is False
    provider.delete(created.id, updated.outs)
    assert store.bindings("staging") == []


def test_type_token_is_under_the_flexor_module() -> None:
    assert VaultTierScope._resource_type_name == "dynamic/flexor:VaultTierScope"
