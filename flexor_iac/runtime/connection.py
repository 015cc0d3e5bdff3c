"""Which PlexiFact catalog an environment uses, and whether it answers (for `status`)."""

from __future__ import annotations

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.project.loading import load_project
from flexor_iac.runtime.plexifact import Limits, PlexiFactError, open_catalog

NOT_CONFIGURED = "not configured"


def environment_catalog(paths: ProjectPaths, env: Environment, store: ControlPlane) -> str | None:
    """The catalog URI of `env`: as deployed (its registration), else its stack file."""
    registered = store.environment(env.value)
    if registered is not None:
        return registered.get("catalog") or None
    project, _diagnostics = load_project(paths.root)
    stack = project.stacks.get(env)
    return stack.settings.catalog if stack and stack.settings else None


def health(paths: ProjectPaths, env: Environment, store: ControlPlane) -> str:
    """`healthy`, `unreachable (<reason>)` or `not configured`."""
    uri = environment_catalog(paths, env, store)
    if uri is None:
        return NOT_CONFIGURED
    try:
        catalog = open_catalog(paths.state_dir, uri, Limits(), store)
    except PlexiFactError as error:
        return f"unreachable ({error})"
    return catalog.health()
