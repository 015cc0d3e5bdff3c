"""Generate large, valid Flexor projects for benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

from flexor_iac.project.scaffold import CATALOGS, PROGRAM_FILE, PROGRAM_TEXT

VAULTS = (("company", "L2", "production"), ("personal", "L3", "staging"),
          ("desk", "L4", "production"), ("research", "L4", "production"))


def _skill(name: str) -> str:
    return f'''name: {name}
version: "1.0"
description: "Benchmark skill {name}."
inputs:
  feed_name:
    type: string
    required: true
  max_age_minutes:
    type: integer
    default: 30
outputs:
  is_fresh:
    type: boolean
steps:
  - action: plexifact.catalog.get_feed_metadata
    args:
      feed: "{{{{ inputs.feed_name }}}}"
    capture: meta
  - action: core.time.diff_minutes
    args:
      from: "{{{{ meta.last_ingested_at }}}}"
      to: "{{{{ now() }}}}"
    capture: age
  - action: core.logic.set_output
    args:
      is_fresh: "{{{{ age <= inputs.max_age_minutes }}}}"
'''


def _agent(name: str, vault: str, environment: str, skill: str) -> str:
    """The vendor's feed-monitor shape: shared condition and audit templates, a unique message."""
    return f'''name: {name}
version: "1.0"
description: "Benchmark agent {name}."
owner: "ops-team"
vault: {vault}
environment: {environment}
trigger:
  type: schedule
  cron: "*/30 * * * *"
retry:
  max_attempts: 2
  backoff_seconds: 60
tasks:
  - skill: {skill}
    args:
      feed_name: "feed-{name}"
      max_age_minutes: 30
    capture: result
  - condition: "{{{{ !result.is_fresh }}}}"
  - skill: core.notify.slack
    args:
      channel: "#data-ops"
      message: "feed-{name} is {{{{ result.staleness_minutes }}}} min stale."
  - end_condition
  - skill: core.audit.log
    args:
      event: "feed_freshness_check"
      result: "{{{{ result }}}}"
'''


def generate(root: Path, agents: int, skills: int) -> list[Path]:
    """Write a project with `agents` agents and `skills` skills over four vaults."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: flexor\nruntime: python\nmain: __main__.py\n"
                                      "config:\n  flexor:defaultVault: company\n")
    (root / PROGRAM_FILE).write_text(PROGRAM_TEXT)
    for env in ("sandbox", "staging", "production"):
        (root / f"Pulumi.{env}.yaml").write_text(f"config:\n  flexor:environment: {env}\n"
                                                 f"  flexor:catalog: {CATALOGS[env]}\n")
    per_vault = skills // len(VAULTS)
    skill_names: dict[str, list[str]] = {}
    for vault, tier, environment in VAULTS:
        folder = root / "vaults" / vault
        (folder / "skills").mkdir(parents=True, exist_ok=True)
        (folder / "vault.json").write_text(json.dumps({
            "name": vault, "tier": tier, "environment": environment}, indent=2))
        skill_names[vault] = [f"{vault}-check-{i}" for i in range(per_vault)]
        for name in skill_names[vault]:
            (folder / "skills" / f"{name}.yaml").write_text(_skill(name))
    (root / "agents").mkdir(exist_ok=True)
    for i in range(agents):
        vault, _tier, environment = VAULTS[i % len(VAULTS)]
        skill = skill_names[vault][i % per_vault]
        (root / "agents" / f"agent-{i}.yaml").write_text(
            _agent(f"agent-{i}", vault, environment, skill))
    return sorted(root.rglob("*.yaml")) + sorted(root.rglob("vault.json"))
