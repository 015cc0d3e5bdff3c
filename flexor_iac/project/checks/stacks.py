"""The Pulumi files: the project name the tool relies on, one stack file per environment."""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.core.constants import PULUMI_PROJECT, PULUMI_RUNTIME, Environment
from flexor_iac.core.suggest import unknown_name
from flexor_iac.project.checks.context import CheckContext
from flexor_iac.project.checks.triggers import known_zone
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.loading import StackSource


def _windows(ctx: CheckContext, path: str, stack: StackSource) -> Iterator[Diagnostic]:
    for index, window in enumerate(stack.settings.maintenanceWindows or ()):
        where = ("config", "flexor:maintenanceWindows", index)
        if not known_zone(window.timezone):
            yield ctx.at(path, (*where, "timezone"), f"unknown time zone {window.timezone!r} "
                         "(use an IANA name such as America/New_York)", "timezone-invalid")
        if window.end <= window.start:
            yield ctx.at(path, (*where, "end"), f"the maintenance window ends ({window.end}) "
                         f"before it starts ({window.start}); split one that spans midnight",
                         "window-invalid")


def _project_file(ctx: CheckContext) -> Iterator[Diagnostic]:
    document = ctx.project.documents.get("Pulumi.yaml")
    if document is None or not isinstance(document.data, dict):
        return
    if document.data.get("name") != PULUMI_PROJECT:
        yield ctx.at("Pulumi.yaml", ("name",), f"the Pulumi project must be named "
                     f"`{PULUMI_PROJECT}` (resource URNs depend on it)", "pulumi-project-name")
    runtime = document.data.get("runtime")
    named = runtime.get("name") if isinstance(runtime, dict) else runtime
    if named != PULUMI_RUNTIME:
        yield ctx.at("Pulumi.yaml", ("runtime", "name") if isinstance(runtime, dict) else
                     ("runtime",), f"the Pulumi runtime is {named!r}; flexor's program is "
                     f"Python (`runtime: {PULUMI_RUNTIME}`)", "pulumi-runtime")
    default = ctx.project.default_vault
    if default is not None and ctx.project.vault(default) is None \
            and default not in ctx.project.invalid_vaults:
        names = sorted({vault.config.name for vault in ctx.project.vaults})
        yield ctx.at("Pulumi.yaml", ("config", "flexor:defaultVault"), "flexor:defaultVault "
                     f"names no vault: {unknown_name(default, names, 'vault')}",
                     "default-vault-unknown")


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """pulumi-project-name, pulumi-runtime, default-vault-unknown, stack-missing,
    stack-environment, timezone-invalid, window-invalid."""
    yield from _project_file(ctx)
    for env in Environment:
        path = f"Pulumi.{env.value}.yaml"
        if not (ctx.project.root / path).exists():
            yield ctx.at(path, (), f"stack file for {env.value} is missing (create it with "
                         f"`config: {{flexor:environment: {env.value}}}`)", "stack-missing")
            continue
        stack = ctx.project.stacks.get(env)
        if stack is not None and stack.settings.environment not in (None, env):
            named = stack.settings.environment.value if stack.settings.environment else ""
            yield ctx.at(path, ("config", "flexor:environment"), f"{path} names environment "
                         f"{named}; the stack name says {env.value}", "stack-environment")
        if stack is not None:
            yield from _windows(ctx, path, stack)
