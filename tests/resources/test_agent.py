"""`flexor:Agent`: activates one agent version, retains the last three, honours holds."""

from __future__ import annotations

from typing import Any

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.resources.agent import HOLD_KEY, Agent, AgentProvider, retain
from flexor_iac.resources.base import APPLIED_KEY, RETAINED_KEY

PROPS = {"name": "feed-monitor", "environment": "production", "version": "1.0", "vault": "company",
         "spec": {"trigger": {"type": "manual"}}, "skills": {}, "digest": "sha256:01"}


def _version(number: str) -> dict[str, Any]:
    return {**PROPS, "version": number, "digest": f"sha256:{number}"}


def test_activate_update_and_remove(store: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_ACTOR", "ci-bot")
    provider = AgentProvider()
    created = provider.create(dict(PROPS))
    assert created.id == "production/agent/feed-monitor"
    active = store.active_agents("production")
    assert [(a.name, a.version, a.digest) for a in active] == [("feed-monitor", "1.0", "sha256:01")]
    assert active[0].spec == {"spec": PROPS["spec"], "skills": {}, "vault": "company"}
    newer = _version("1.1")
    outs = provider.update(created.id, created.outs, newer).outs
    assert outs is not None and outs[APPLIED_KEY] is True
    assert [(e["version"], e["deployed_by"]) for e in outs[RETAINED_KEY]] == [
        ("1.0", "ci-bot"), ("1.1", "ci-bot")]
    assert store.active_agents("production")[0].version == "1.1"
    provider.delete(created.id, newer)
    assert store.active_agents("production") == []
    assert provider.read(created.id, newer).outs[APPLIED_KEY] is False


def test_three_distinct_versions_are_retained(store: ControlPlane) -> None:
    provider = AgentProvider()
    outs = provider.create(_version("1.0")).outs
    for number in ("1.1", "1.1", "1.2", "1.3"):
        outs = provider.update("id", outs, _version(number)).outs or {}
    assert [e["version"] for e in outs[RETAINED_KEY]] == ["1.1", "1.2", "1.3"]
    assert retain(outs[RETAINED_KEY], {**outs[RETAINED_KEY][1]})[-1]["version"] == "1.2"


def test_a_hold_keeps_the_state_while_the_file_says_the_bad_version() -> None:
    provider = AgentProvider()
    held = {**_version("1.2"), HOLD_KEY: {"version": "1.2", "from": "1.3"}, APPLIED_KEY: True}
    assert provider.diff("id", held, _version("1.3")).changes is False
    assert provider.diff("id", held, _version("1.4")).changes is True
    lost = {**held, APPLIED_KEY: False}  # a refresh found the control plane lost it
    assert provider.diff("id", lost, _version("1.3")).changes is True


def test_type_token_is_under_the_flexor_module() -> None:
    assert Agent._resource_type_name == "dynamic/flexor:Agent"


def test_repairing_a_held_agent_restores_the_held_version(store: ControlPlane) -> None:
    provider = AgentProvider()
    held = {**_version("1.2"), HOLD_KEY: {"version": "1.2", "from": "1.3"}, APPLIED_KEY: False}
    outs = provider.update("id", held, _version("1.3")).outs or {}
    assert outs["version"] == "1.2" and outs[HOLD_KEY] == {"version": "1.2", "from": "1.3"}
    assert store.active_agents("production")[0].version == "1.2"


def test_outputs_keep_spec_and_skills_once_and_still_diff_exactly(store: ControlPlane) -> None:
    provider = AgentProvider()
    outs = provider.create(_version("1.0")).outs
    assert "spec" not in outs and "skills" not in outs  # carried by the retained entry
    assert outs[RETAINED_KEY][-1]["spec"] == PROPS["spec"]
    assert provider.diff("id", outs, _version("1.0")).changes is False
    changed = {**_version("1.0"), "spec": {"trigger": {"type": "schedule"}}}
    assert provider.diff("id", outs, changed).changes is True
