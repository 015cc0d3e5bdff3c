"""`flexor:Agent`: readable ids, every input kept as output."""

from __future__ import annotations

from flexor_iac.resources.agent import Agent, AgentProvider


def test_agent_create_gives_a_stable_id_and_full_outputs() -> None:
    props = {"name": "n1", "environment": "staging", "detail": {"k": [1, 2]}}
    created = AgentProvider().create(props)
    assert created.id == "staging/agent/n1"
    assert created.outs == props


def test_agent_type_token_is_under_the_flexor_module() -> None:
    assert Agent._resource_type_name == "dynamic/flexor:Agent"
