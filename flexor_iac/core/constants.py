"""Constants that are defined once: environments, tiers and their scopes, exit codes."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Environment(StrEnum):
    """The three Flexor environments, in promotion order."""

    SANDBOX = "sandbox"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def rank(self) -> int:
        """Position in the promotion order sandbox < staging < production."""
        return _RANKS[self]

    def reaches(self, target: Environment) -> bool:
        """Whether an object declared for this environment may be deployed to `target`."""
        return target.rank <= self.rank


_RANKS = {env: index for index, env in enumerate(Environment)}


class Tier(StrEnum):
    """Vault tiers; names resolve L4 → L3 → L2 → L1."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"


# Vault tiers in scope per environment (L1, the platform standard library, is always in scope).
TIER_SCOPE: dict[Environment, tuple[Tier, ...]] = {
    Environment.SANDBOX: (Tier.L4, Tier.L3, Tier.L1),
    Environment.STAGING: (Tier.L4, Tier.L3, Tier.L2, Tier.L1),
    Environment.PRODUCTION: (Tier.L4, Tier.L2, Tier.L1),
}

ENVIRONMENT_NAMES: tuple[str, ...] = tuple(env.value for env in Environment)

# The Pulumi project name every Flexor project uses (Pulumi.yaml `name:`).
PULUMI_PROJECT = "flexor"
PULUMI_RUNTIME = "python"  # the language of the program (Pulumi.yaml `runtime`)
# Module under which the dynamic resource types live: pulumi-python:dynamic/flexor:<Kind>.
RESOURCE_MODULE = "flexor"
# Folder in a Flexor project that holds local state, the passphrase, logs and the control plane.
STATE_DIR_NAME = ".flexor"
# How a run ended (control plane `runs.status`).
RUN_STATUSES = ("success", "partial", "failed")


class ExitCode(IntEnum):
    """Exit codes, the same for every verb (the README and docs/troubleshooting.md list them)."""

    OK = 0
    FAILED = 1
    CHANGES_PRESENT = 2
    REFUSED = 3
    INTERNAL = 4
    USAGE = 64
