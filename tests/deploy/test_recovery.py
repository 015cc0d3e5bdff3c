"""The update journal and the sweep that make one checkpoint per update safe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.deploy import recovery
from flexor_iac.deploy.stacks import DeployedResource

STAGING = Environment.STAGING


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path / "control-plane.db") as opened:
        yield opened


def _held(kind: str, name: str) -> DeployedResource:
    return DeployedResource(kind, name, f"urn:{kind}::{name}", {}, {})


def test_an_update_that_ends_is_forgotten_and_the_next_is_not_a_recovery(
        store: ControlPlane) -> None:
    with recovery.journal(store, STAGING, targeted=False) as cut_off:
        assert not cut_off
        assert recovery.interrupted_by(store, STAGING) is not None  # recorded while it runs
    with recovery.journal(store, STAGING, targeted=False) as cut_off:
        assert not cut_off


def test_an_update_that_raises_stays_recorded_and_the_next_recovers(store: ControlPlane) -> None:
    with pytest.raises(RuntimeError), recovery.journal(store, STAGING, targeted=False):
        raise RuntimeError("the engine failed")
    recorded = recovery.interrupted_by(store, STAGING)
    assert recorded is not None
    assert "was cut off (`" in recovery.notice(STAGING, recorded)
    with recovery.journal(store, STAGING, targeted=False) as cut_off:
        assert cut_off
    assert recovery.interrupted_by(store, STAGING) is None


def test_a_targeted_update_leaves_a_recovery_to_the_next_full_one(store: ControlPlane) -> None:
    with pytest.raises(RuntimeError), recovery.journal(store, STAGING, targeted=False):
        raise RuntimeError("killed")
    with recovery.journal(store, STAGING, targeted=True) as cut_off:
        assert cut_off
    assert recovery.interrupted_by(store, STAGING) is not None
    assert recovery.interrupted_by(store, Environment.PRODUCTION) is None


def test_the_sweep_removes_only_what_the_stack_does_not_hold(store: ControlPlane) -> None:
    for name in ("kept", "orphan"):
        store.activate_agent("staging", name, "1.0", {}, "sha256:1")
    store.activate_agent("production", "orphan", "1.0", {}, "sha256:1")
    for vault in ("company", "desk"):
        store.bind_vault("staging", vault, "sha256:2", {})
    held = [_held("EnvironmentBinding", "staging"), _held("Agent", "kept"),
            _held("VaultTierScope", "company")]
    assert recovery.sweep(store, STAGING, held) == ["Agent/orphan", "VaultTierScope/desk"]
    assert [a.name for a in store.active_agents("staging")] == ["kept"]
    assert [b.vault for b in store.bindings("staging")] == ["company"]
    assert [a.name for a in store.active_agents("production")] == ["orphan"]
