"""`flexor:Agent`: activates one agent version in the control plane."""

from __future__ import annotations

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.resources.agent import Agent, AgentProvider
from flexor_iac.resources.base import APPLIED_KEY

PROPS = {"name": "feed-monitor", "environment": "production", "version": "1.0", "vault": "company",
         "spec": {"trigger": {"type": "manual"}}, "skills": {}, "digest": "sha256:01"}


def test_activate_update_and_remove(store: ControlPlane) -> None:
    provider = AgentProvider()
    created = provider.create(dict(PROPS))
    assert created.id == "production/agent/feed-monitor"
    active = store.active_agents("production")
    assert [(a.name, a.version, a.digest) for a in active] == [("feed-monitor", "1.0", "sha256:01")]
    assert active[0].spec == {"spec": PROPS["spec"], "skills": {}, "vault": "company"}
    newer = {**PROPS, "version": "1.1", "digest": "sha256:02"}
    assert provider.update(created.id, created.outs, newer).outs == {**newer, APPLIED_KEY: True}
    assert store.active_agents("production")[0].version == "1.1"
    provider.delete(created.id, newer)
    assert store.active_agents("production") == []
    assert provider.read(created.id, newer).outs[APPLIED_KEY] is False


def test_type_token_is_under_the_flexor_module() -> None:
    assert Agent._resource_type_name == "dynamic/flexor:Agent"
