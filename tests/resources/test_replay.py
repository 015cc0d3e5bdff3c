"""Every provider operation is an idempotent upsert: replaying it — as the next deploy does
after a deploy killed before the state recorded it (see
docs/decisions/013-one-checkpoint-per-update.md) — leaves the control plane and the outputs
exactly as one run does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.resources.agent import AgentProvider
from flexor_iac.resources.base import FlexorProvider
from flexor_iac.resources.environment_binding import EnvironmentBindingProvider
from flexor_iac.resources.vault_tier_scope import VaultTierScopeProvider

AGENT = {"name": "feed-monitor", "environment": "staging", "version": "1.0", "vault": "company",
         "spec": {"trigger": {"type": "manual"}}, "skills": {}, "digest": "sha256:01"}
VAULT = {"name": "company", "environment": "staging", "tier": "L2", "config": {},
         "snapshot_digest": "sha256:aa"}
BINDING = {"name": "staging", "environment": "staging", "tier_scope": ["L4", "L3", "L2", "L1"],
           "triggers": ["manual"], "catalog": "plexifact://staging/catalog",
           "isolation": "isolated"}
View = Callable[[ControlPlane], Any]
CASES: list[tuple[FlexorProvider, dict[str, Any], dict[str, Any], View]] = [
    (AgentProvider(), AGENT, {**AGENT, "version": "1.1", "digest": "sha256:02"},
     lambda s: [(a.name, a.version, a.digest, a.spec) for a in s.active_agents("staging")]),
    (VaultTierScopeProvider(), VAULT, {**VAULT, "snapshot_digest": "sha256:bb"},
     lambda s: s.bindings("staging")),
    (EnvironmentBindingProvider(), BINDING, {**BINDING, "triggers": ["manual", "schedule"]},
     lambda s: s.environment("staging")),
]


@pytest.mark.parametrize(("provider", "props", "newer", "view"), CASES,
                         ids=["agent", "vault-tier-scope", "environment-binding"])
def test_each_operation_replayed_converges(store: ControlPlane, provider: FlexorProvider,
                                           props: dict[str, Any], newer: dict[str, Any],
                                           view: View) -> None:
    with clock.frozen(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)):
        created = provider.create(dict(props))
        after_create = view(store)
        assert provider.create(dict(props)).outs == created.outs
        assert view(store) == after_create

        updated = provider.update(created.id, created.outs, dict(newer)).outs
        after_update = view(store)
        assert after_update != after_create
        assert provider.update(created.id, created.outs, dict(newer)).outs == updated
        assert view(store) == after_update

        provider.delete(created.id, updated)
        after_delete = view(store)
        provider.delete(created.id, updated)  # the resource is gone already: no error
        assert view(store) == after_delete
        assert after_delete in ([], None)
