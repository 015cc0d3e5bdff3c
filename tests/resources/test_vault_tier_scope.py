"""`flexor:VaultTierScope`: readable ids, every input kept as output."""

from __future__ import annotations

from flexor_iac.resources.vault_tier_scope import VaultTierScope, VaultTierScopeProvider


def test_vault_tier_scope_create_gives_a_stable_id_and_full_outputs() -> None:
    props = {"name": "n1", "environment": "staging", "detail": {"k": [1, 2]}}
    created = VaultTierScopeProvider().create(props)
    assert created.id == "staging/vault/n1"
    assert created.outs == props


def test_vault_tier_scope_type_token_is_under_the_flexor_module() -> None:
    assert VaultTierScope._resource_type_name == "dynamic/flexor:VaultTierScope"
