"""`flexor:EnvironmentBinding`: readable ids, every input kept as output."""

from __future__ import annotations

from flexor_iac.resources.environment_binding import EnvironmentBinding, EnvironmentBindingProvider


def test_environment_binding_create_gives_a_stable_id_and_full_outputs() -> None:
    props = {"name": "n1", "environment": "staging", "detail": {"k": [1, 2]}}
    created = EnvironmentBindingProvider().create(props)
    assert created.id == "staging/environment/n1"
    assert created.outs == props


def test_environment_binding_type_token_is_under_the_flexor_module() -> None:
    assert EnvironmentBinding._resource_type_name == "dynamic/flexor:EnvironmentBinding"
