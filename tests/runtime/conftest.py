"""Runtime tests: a project installed into its control plane the way the providers do it.

Only the stack layer is faked (no Pulumi engine): the same inputs the program declares are
handed to the same provider `write` methods. tests/engine/test_runtime.py runs the real path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from flexor_iac import clock
from flexor_iac.config.project import load_project
from flexor_iac.constants import Environment
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.program import agent_inputs, binding_inputs, resolved_skills, vault_inputs
from flexor_iac.resources.agent import AgentProvider
from flexor_iac.resources.environment_binding import EnvironmentBindingProvider
from flexor_iac.resources.vault_tier_scope import VaultTierScopeProvider
from flexor_iac.runtime.plexifact import CatalogData, catalog_path, load
from flexor_iac.selection import select
from flexor_iac.workspace import ProjectPaths

Install = Callable[[Path, Environment], ControlPlane]


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
    """Fill the embedded catalog `uri` of a project."""
    load(catalog_path(ProjectPaths(root).state_dir, uri), CatalogData.model_validate(data),
         clock.now())


@pytest.fixture
def redirector(hooks: HTTPServer) -> Iterator[HTTPServer]:
    """A server on 127.0.0.1 that answers every POST with a 307 to the `hooks` server."""
    target = f"{hooks.url}/stolen"  # type: ignore[attr-defined]

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(307)  # 307 keeps the method and body if followed
            self.send_header("Location", target)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
