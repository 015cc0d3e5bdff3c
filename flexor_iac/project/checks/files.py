"""Files in a vault that are never read: FIFOs, devices, links leading out of the vault."""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.project.checks.context import CheckContext
from flexor_iac.project.diagnostics import Diagnostic


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """file-not-regular, file-unreadable: each vault entry a snapshot leaves out.

    Skill files and vault.json get the same diagnostic from the reader (one is reported).
    """
    for vault in ctx.project.vaults:
        folder = vault.path.rsplit("/", 1)[0]
        for name, refused in vault.refused:
            yield Diagnostic(f"{folder}/{name}", 1, 1, "error", refused.message, refused.rule)
