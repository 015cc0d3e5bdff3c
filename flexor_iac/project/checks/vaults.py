"""Vaults and the agents that belong to them: tier, membership, how far each may reach."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flexor_iac.core.constants import Tier
from flexor_iac.project.checks.context import CheckContext, strings
from flexor_iac.project.diagnostics import Diagnostic

ENV_REFERENCE = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")


def _vault_files(ctx: CheckContext) -> Iterator[Diagnostic]:
    for vault in ctx.project.vaults:
        if vault.config.tier is Tier.L1:
            yield ctx.at(vault.path, ("tier",), "tier L1 is the platform tier, managed by "
                         "PLEXI and shipped with flexor-iac; a project may not define it",
                         "vault-tier-l1")
        for index, pattern in enumerate(vault.config.audit.pii_patterns):
            try:
                re.compile(pattern)
            except re.error as error:
                yield ctx.at(vault.path, ("audit", "pii_patterns", index),
                             f"not a regular expression: {error}", "pii-pattern-invalid")
        document = ctx.project.documents.get(vault.path)
        for text, loc in strings(document.data if document else {}, ()):
            if text.lower().startswith("env:") and not ENV_REFERENCE.match(text):
                yield ctx.at(vault.path, loc, f"malformed environment reference {text!r}: "
                             "expected env:VARIABLE_NAME", "env-ref-format")


def _agent_vaults(ctx: CheckContext) -> Iterator[Diagnostic]:
    for agent in ctx.project.agents:
        spec = agent.spec
        name = spec.vault or ctx.project.default_vault
        if name is None:
            yield ctx.at(agent.path, ("name",), "agent names no `vault:` and Pulumi.yaml sets "
                         "no flexor:defaultVault", "vault-missing")
            continue
        vault = ctx.project.vault(name)
        if vault is None and name not in ctx.project.invalid_vaults:
            origin = "`vault:`" if spec.vault else "flexor:defaultVault in Pulumi.yaml"
            yield ctx.at(agent.path, ("vault",) if spec.vault else ("name",),
                         f"no vault named `{name}` (from {origin})", "vault-unknown")
        elif vault is not None and not vault.config.environment.reaches(spec.environment):
            yield ctx.at(agent.path, ("environment",), f"agent declares "
                         f"{spec.environment.value} but its vault `{vault.config.name}` may only "
                         f"reach {vault.config.environment.value}", "environment-reach")


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """vault-tier-l1, pii-pattern-invalid, env-ref-format, vault-missing, vault-unknown,
    environment-reach.

    A vault whose own vault.json is invalid is reported there, not again at its agents.
    """
    yield from _vault_files(ctx)
    yield from _agent_vaults(ctx)
