"""Checks that need more than one file, or a project shape the corpus cannot make."""

from __future__ import annotations

from pathlib import Path

from flexor_iac.project.validate import validate_project
from tests.conftest import add_vault


def _rules(root: Path) -> list[tuple[str, str]]:
    return [(d.path, d.rule) for d in validate_project(root)[1]]


def test_mutual_skill_cycle_is_reported_once(project: Path) -> None:
    skills = project / "vaults" / "company" / "skills"
    for me, other in (("ping", "pong"), ("pong", "ping")):
        (skills / f"{me}.yaml").write_text(
            f'name: {me}\nversion: "1.0"\ndescription: "x"\nsteps:\n  - call: {other}\n')
    diagnostics = validate_project(project)[1]
    cycles = [d for d in diagnostics if d.rule == "skill-cycle"]
    assert [d.render() for d in cycles] == [
        "vaults/company/skills/pong.yaml:5:5: error: skill call cycle: ping → pong → ping "
        "[skill-cycle]"]


def test_vault_directory_without_vault_json(project: Path) -> None:
    (project / "vaults" / "empty").mkdir()
    assert _rules(project) == [("vaults/empty", "vault-missing-config")]


def test_agent_without_vault_and_without_default(project: Path) -> None:
    pulumi_yaml = project / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace("  flexor:defaultVault: company\n", ""))
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace("vault: company\n", ""))
    assert _rules(project) == [("agents/feed-monitor.yaml", "vault-missing")]


def test_default_vault_applies_when_the_agent_names_none(project: Path) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace("vault: company\n", ""))
    assert _rules(project) == []


def test_unreadable_file(project: Path) -> None:
    (project / "agents" / "folder.yaml").mkdir()
    assert _rules(project) == [("agents/folder.yaml", "file-unreadable")]


def test_l4_skill_overrides_l2_of_the_same_name(project: Path) -> None:
    add_vault(project, "desk", "L4", "production", {"data-freshness-check": (
        'name: data-freshness-check\nversion: "9.0"\ndescription: "x"\n'
        "steps:\n  - action: core.logic.set_output\n")})
    # the agent passes feed_name and max_age_minutes, which the L4 version does not take
    assert ("agents/feed-monitor.yaml", "skill-args-unknown") in _rules(project)


def test_an_invalid_skill_is_reported_once_not_again_at_every_use(project: Path) -> None:
    skill = project / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("description:", "colour: blue\ndescription:"))
    assert _rules(project) == [("vaults/company/skills/data-freshness-check.yaml",
                                "schema-unknown-key")]


def test_an_invalid_vault_is_reported_once_not_again_at_every_agent(project: Path) -> None:
    vault = project / "vaults" / "company" / "vault.json"
    vault.write_text(vault.read_text().replace('"tier": "L2"', '"tier": "L9"'))
    assert _rules(project) == [("vaults/company/vault.json", "schema-enum")]
