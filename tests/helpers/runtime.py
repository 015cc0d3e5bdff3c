"""A project installed into its control plane the way the providers do it, catalogs filled, and
agents run on what was installed.

Only the stack layer is faked (no Pulumi engine): the same inputs the program declares are
handed to the same provider `write` methods. tests/engine/test_runtime.py runs the real path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.program import agent_inputs, binding_inputs, resolved_skills, vault_inputs
from flexor_iac.project.loading import load_project
from flexor_iac.project.selection import select
from flexor_iac.resources.agent import AgentProvider
from flexor_iac.resources.environment_binding import EnvironmentBindingProvider
from flexor_iac.resources.vault_tier_scope import VaultTierScopeProvider
from flexor_iac.runtime.executor import Executor, RunRequest
from flexor_iac.runtime.plexifact import CatalogData, load

STAGING = Environment.STAGING
CATALOG = "plexifact://staging/catalog"
SECRET_URL_PART = "T0SECRET/B0SECRET/xoxsecret42"


def install(root: Path, env: Environment) -> ControlPlane:
    """Write what a deploy of `env` writes to the control plane; return it opened."""
    project, _diagnostics = load_project(root)
    store = ControlPlane(locate(root))
    EnvironmentBindingProvider().write(store, binding_inputs(project, env))
    selection = select(project, env)
    for vault in selection.vaults:
        VaultTierScopeProvider().write(store, vault_inputs(vault, env, "sha256:test"))
    for agent in selection.agents:
        AgentProvider().write(store, agent_inputs(project, agent, env,
                                                  resolved_skills(project, agent, env)))
    return store


def load_catalog(root: Path, uri: str, data: dict[str, Any]) -> None:
    """Fill the catalog `uri` of a project (embedded, or in the team control plane)."""
    with ControlPlane(locate(root)) as store:
        load(ProjectPaths(root).state_dir, uri, CatalogData.model_validate(data), clock.now(),
             store)


def feeds(root: Path, age_minutes: float) -> None:
    """Staging's catalog with one feed, equity-prices, `age_minutes` old."""
    load_catalog(root, CATALOG, {"feeds": [{"name": "equity-prices",
                                            "age_minutes": age_minutes}]})


def run(root: Path, agent: str, environ: dict[str, str] | None = None,
        **request: Any) -> tuple[RunRecord, ControlPlane]:
    """Install staging, then run `agent` once (no waits between attempts)."""
    store = install(root, STAGING)
    executor = Executor(ProjectPaths(root), store, environ=environ or {}, sleep=lambda _s: None)
    return executor.run(RunRequest(STAGING, agent, **request)), store


def two_runs(project: Path) -> None:
    """One failed run of feed-monitor in staging (no catalog), then one successful run."""
    store = install(project, STAGING)
    executor = Executor(ProjectPaths(project), store, environ={}, sleep=lambda _s: None)
    executor.run(RunRequest(STAGING, "feed-monitor"))
    load_catalog(project, CATALOG, {"feeds": [{"name": "equity-prices", "age_minutes": 1}]})
    executor.run(RunRequest(STAGING, "feed-monitor"))
    store.close()


class Ticking:
    """A monotonic clock that moves `step` seconds each time it is read (and when told)."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> dict[str, Any]:
        self.now += seconds
        return {}
