"""`flexor:EnvironmentBinding`: registers the environment in the control plane."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.resources.base import APPLIED_KEY
from flexor_iac.resources.environment_binding import (
    EnvironmentBinding,
    EnvironmentBindingProvider,
)
from flexor_iac.resources.guard import CONTROL_PLANE_KEY

PROPS = {"name": "staging", "environment": "staging", "tier_scope": ["L4", "L3", "L2", "L1"],
         "triggers": ["manual"], "catalog": "plexifact://staging/catalog", "isolation": "isolated"}


def test_create_registers_and_delete_forgets(store: ControlPlane) -> None:
    provider = EnvironmentBindingProvider()
    created = provider.create(dict(PROPS))
    assert created.id == "staging/environment/staging"
    assert created.outs == {**PROPS, APPLIED_KEY: True, CONTROL_PLANE_KEY: {
        "id": store.identity, "path": store.where}}
    assert store.environment("staging") == {"tier_scope": ["L4", "L3", "L2", "L1"],
                                            "triggers": ["manual"], "isolation": "isolated",
                                            "catalog": "plexifact://staging/catalog"}
    assert provider.read(created.id, created.outs).outs[APPLIED_KEY] is True
    provider.delete(created.id, created.outs)
    assert store.environment("staging") is None
    assert provider.read(created.id, created.outs).outs[APPLIED_KEY] is False


def test_type_token_is_under_the_flexor_module() -> None:
    assert EnvironmentBinding._resource_type_name == "dynamic/flexor:EnvironmentBinding"


def test_deploying_through_another_control_plane_changes_the_binding(
        store: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when nothing else changed, so that the refusal comes before any resource is
    created in a stack another control plane holds."""
    provider = EnvironmentBindingProvider()
    applied = provider.create(dict(PROPS)).outs
    assert provider.diff("id", applied, dict(PROPS)).changes is False
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(tmp_path / "other.db"))
    assert provider.diff("id", applied, dict(PROPS)).changes is True
