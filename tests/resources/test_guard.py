"""What every provider checks before it changes anything: the control plane the stack was
applied to, and the caller's key (so `pulumi destroy` is covered too)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.locking import operation_lock
from flexor_iac.core.workspace import find_project
from flexor_iac.resources.agent import AgentProvider
from flexor_iac.resources.base import APPLIED_KEY
from flexor_iac.resources.guard import CONTROL_PLANE_KEY, direct_command
from flexor_iac.resources.vault_tier_scope import VaultTierScopeProvider
from tests.helpers.keys import issue_key

PROPS = {"name": "company", "environment": "production", "tier": "L2", "config": {},
         "snapshot_digest": "sha256:01"}


def _other_plane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> ControlPlane:
    database = tmp_path / name
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(database))
    return ControlPlane(database)


def test_another_control_plane_is_refused_while_the_first_exists(
        store: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = VaultTierScopeProvider()
    applied = provider.create(dict(PROPS)).outs
    assert applied[CONTROL_PLANE_KEY]["id"] == store.identity
    with _other_plane(tmp_path, monkeypatch, "other.db") as other:
        for attempt in (lambda: provider.update("id", applied, {**PROPS, "tier": "L4"}),
                        lambda: provider.delete("id", applied),
                        lambda: provider.read("id", applied)):
            with pytest.raises(PolicyRefusal, match="this stack was applied to the control "
                                                    f"plane at {store.where}"):
                attempt()
        assert other.bindings("production") == []
    assert store.binding_digest("production", "company") == "sha256:01"


def test_a_copy_of_the_control_plane_is_refused_while_the_original_exists(
        store: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy has the original's identity (and whatever was edited into it since: a viewer's
    key made admin); it may take over only once the original is gone."""
    provider = VaultTierScopeProvider()
    applied = provider.create(dict(PROPS)).outs
    original = Path(store.where)
    copy = tmp_path / "copy.db"
    with sqlite3.connect(original) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(copy))
    with ControlPlane(copy) as copied:
        assert copied.identity == store.identity
        for attempt in (lambda: provider.update("id", applied, {**PROPS, "tier": "L4"}),
                        lambda: provider.delete("id", applied),
                        lambda: provider.read("id", applied)):
            with pytest.raises(PolicyRefusal, match=f"{copy} is a copy of the control plane "
                                                    f"at {original}"):
                attempt()
        assert copied.binding_digest("production", "company") == "sha256:01"
    store.close()
    for leftover in tmp_path.glob("control-plane.db*"):
        leftover.unlink()  # the original gone: the copy carries on, as a moved file would
    with ControlPlane(copy) as copied:
        updated = provider.update("id", applied, {**PROPS, "snapshot_digest": "sha256:02"}).outs
        assert updated[CONTROL_PLANE_KEY] == {"id": copied.identity, "path": str(copy)}


def test_a_lost_control_plane_is_adopted_by_a_refresh_only(
        store: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = VaultTierScopeProvider()
    applied = provider.create(dict(PROPS)).outs
    store.close()
    for leftover in tmp_path.glob("control-plane.db*"):
        leftover.unlink()
    with ControlPlane(Path(store.where)) as rebuilt:  # a new, empty database where the old one was
        with pytest.raises(PolicyRefusal, match="run `flexor deploy --refresh`"):
            provider.update("id", applied, dict(PROPS))
        refreshed = provider.read("id", applied).outs
        assert refreshed[CONTROL_PLANE_KEY]["id"] == rebuilt.identity
        assert refreshed[APPLIED_KEY] is False
        provider.update("id", refreshed, dict(PROPS))
        assert rebuilt.binding_digest("production", "company") == "sha256:01"


def test_a_team_database_that_cannot_be_reached_is_taken_over_by_a_refresh_only(
        store: ControlPlane) -> None:
    provider = VaultTierScopeProvider()
    applied = provider.create(dict(PROPS)).outs
    elsewhere = {**applied, CONTROL_PLANE_KEY: {  # recorded without its password, as always
        "id": "0" * 32, "path": "postgresql://ops:***@127.0.0.1:1/flexor"}}
    with pytest.raises(PolicyRefusal, match=r"applied to the control plane at postgresql://ops:"
                                            r"\*\*\*@127\.0\.0\.1:1/flexor .* cannot be reached "
                                            r"from here to confirm it is gone: run `flexor "
                                            r"deploy --refresh` to adopt"):
        provider.update("id", elsewhere, {**PROPS, "tier": "L4"})
    assert store.binding_digest("production", "company") == "sha256:01"
    adopted = provider.read("id", elsewhere).outs  # what `flexor deploy --refresh` does
    assert adopted[CONTROL_PLANE_KEY]["id"] == store.identity


def test_changes_without_a_key_are_refused_in_a_protected_environment(
        store: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = VaultTierScopeProvider()
    applied = provider.create(dict(PROPS)).outs
    monkeypatch.delenv("FLEXOR_API_KEY")
    with pytest.raises(PolicyRefusal, match="needs an API key with scope deploy:production"):
        provider.delete("id", applied)  # what `pulumi destroy` calls
    assert store.binding_digest("production", "company") == "sha256:01"
    staging = {**PROPS, "environment": "staging"}
    provider.delete("id", provider.create(dict(staging)).outs)  # staging needs no key


def test_a_key_needs_a_role_on_every_vault_the_resource_touches(
        store: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi up` of a resource in a vault the key's user has no role on is refused by the
    provider, as `flexor deploy` refuses it."""
    monkeypatch.setenv("FLEXOR_API_KEY", issue_key(store, "op", "deploy:production",
                                                   vault="other"))
    with pytest.raises(PolicyRefusal, match="role on vault company: none"):
        VaultTierScopeProvider().create(dict(PROPS))
    assert store.bindings("production") == []
    agent = {"name": "a", "environment": "production", "vault": "other", "version": "1.0",
             "digest": "d", "spec": {}, "skills": {"s": {"vault": "company"}}}
    with pytest.raises(PolicyRefusal, match="role on vault company: none"):
        AgentProvider().create(agent)
    assert store.active_agent("production", "a") is None


def _managed(store: ControlPlane) -> None:
    (Path(store.where).parent / "Pulumi.production.yaml").write_text(
        "config:\n  flexor:managed: true\n")


def test_a_managed_production_refuses_a_direct_destroy(store: ControlPlane) -> None:
    _managed(store)
    provider = VaultTierScopeProvider()
    paths = find_project()
    with operation_lock(paths, Environment.PRODUCTION):  # flexor applying a request
        applied = provider.create(dict(PROPS)).outs
    with pytest.raises(PolicyRefusal, match="production is PLEXI-managed"):
        provider.delete("id", applied)  # `pulumi destroy --stack production`
    assert store.binding_digest("production", "company") == "sha256:01"
    with operation_lock(paths, Environment.PRODUCTION):  # `flexor rollback`, say
        provider.delete("id", applied)
    assert store.binding_digest("production", "company") is None


def test_a_refusal_names_no_direct_command_outside_an_engine_or_under_flexor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_AUTOMATION_API", raising=False)
    assert direct_command() is None  # pytest was not started by an engine
    monkeypatch.setenv("PULUMI_AUTOMATION_API", "true")  # flexor runs its engine so
    assert direct_command() is None
