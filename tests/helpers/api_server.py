"""The team server's API in this process (no `flexor serve`): what the API and console tests
put behind a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flexor_iac.api.app import ApiServer
from flexor_iac.api.auth import Callers
from flexor_iac.api.runner import Runner
from flexor_iac.api.workspaces import Workspaces
from flexor_iac.controlplane.store import locate


@contextmanager
def api_server(project: Path, scratch: Path) -> Iterator[ApiServer]:
    """An API server for `project`'s control plane, its workspaces under `scratch`; closed
    after."""
    where = str(locate(project))
    server = ApiServer(project, where, Workspaces(scratch / "workspaces"),
                       Callers(project, where), Runner())
    try:
        yield server
    finally:
        server.close()
