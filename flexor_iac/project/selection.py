"""What belongs to one environment: vaults in tier scope, agents eligible, and what is skipped."""

from __future__ import annotations

from dataclasses import dataclass

from flexor_iac.core.constants import TIER_SCOPE, Environment
from flexor_iac.project.loading import AgentSource, Project, VaultSource


@dataclass(frozen=True)
class Skipped:
    """An object that is not part of the environment, and why."""

    kind: str
    name: str
    reason: str


@dataclass(frozen=True)
class Selection:
    """The vaults and agents that take part in one environment's deployment."""

    environment: Environment
    vaults: tuple[VaultSource, ...]
    agents: tuple[AgentSource, ...]
    skipped: tuple[Skipped, ...]


def vault_skip_reason(vault: VaultSource, env: Environment) -> str | None:
    """Why a vault is not part of `env` (None: it is)."""
    if vault.config.tier not in TIER_SCOPE[env]:
        scope = "+".join(t.value for t in TIER_SCOPE[env])
        return f"tier {vault.config.tier.value} is not in {env.value}'s scope ({scope})"
    if not vault.config.environment.reaches(env):
        return f"vault declares environment {vault.config.environment.value}"
    return None


def agent_skip_reason(project: Project, agent: AgentSource, env: Environment) -> str | None:
    """Why an agent is not part of `env` (None: it is)."""
    spec = agent.spec
    if not spec.environment.reaches(env):
        return f"agent declares environment {spec.environment.value}"
    vault = project.agent_vault(spec)
    if vault is None:
        return f"vault {spec.vault or project.default_vault!r} not found"
    if (reason := vault_skip_reason(vault, env)) is not None:
        return f"its vault {vault.config.name}: {reason}"
    return None


def select(project: Project, env: Environment) -> Selection:
    """Split the project into what `env` deploys and what it skips (with reasons)."""
    vaults, agents, skipped = [], [], []
    for vault in project.vaults:
        if (reason := vault_skip_reason(vault, env)) is None:
            vaults.append(vault)
        else:
            skipped.append(Skipped("vault", vault.config.name, reason))
    for agent in project.agents:
        if (reason := agent_skip_reason(project, agent, env)) is None:
            agents.append(agent)
        else:
            skipped.append(Skipped("agent", agent.spec.name, reason))
    return Selection(env, tuple(vaults), tuple(agents), tuple(skipped))
