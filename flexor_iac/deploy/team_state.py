"""The Pulumi state's files, moved from the embedded `file://` backend to Pulumi's postgres://
backend on the team database (for `flexor db migrate-from-local`).

Both backends are Pulumi's "DIY" layout over a blob store — the file backend's folder
`.pulumi/…`, the postgres backend's table `pulumi_state` (key `<database>/.pulumi/…`, data
`{"data": <base64>}`) — so moving every file moves every stack with its whole history and
backups. Lock files and the file store's `.attrs` sidecars are not state and stay behind.
Pulumi creates its own table (`pulumi stack ls` against the backend) before rows go in.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from flexor_iac.controlplane.location import pulumi_backend, scrub
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.controlplane.transfer import Table
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import EngineError, UsageError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import engine_workspace
from flexor_iac.deploy.toolchain import pulumi_bin_dir

TABLE = "pulumi_state"


def local_state(paths: ProjectPaths) -> dict[str, bytes]:
    """The embedded backend's files (`.pulumi/...` → bytes), without locks and sidecars."""
    root = paths.backend_dir
    found = {}
    for path in sorted((root / ".pulumi").rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith(".pulumi/locks/") \
                and not relative.endswith(".attrs"):
            found[relative] = path.read_bytes()
    return found


def stack_names(files: dict[str, bytes]) -> list[str]:
    """The stacks among the backend's files."""
    return sorted(Path(name).name.removesuffix(".json") for name in files
                  if name.startswith(".pulumi/stacks/") and name.endswith(".json"))


def _database_name(url: str) -> str:
    name = urlsplit(url).path.strip("/")
    if not name:
        raise UsageError("FLEXOR_DATABASE_URL must name its database (postgresql://…/NAME) to "
                         "move the Pulumi state there")
    return name


def rows(url: str, files: dict[str, bytes]) -> Table:
    """The postgres backend's rows for the files."""
    prefix = _database_name(url)
    return Table(("key", "data"), [
        (f"{prefix}/{name}", json.dumps({"data": base64.b64encode(data).decode()}))
        for name, data in files.items()])


def create_table(paths: ProjectPaths, url: str) -> None:
    """Let Pulumi create its state table on the team database (listing its stacks does)."""
    folder = engine_workspace.prepare(paths, Environment.STAGING)
    env = engine_workspace.engine_env(paths)
    if env["PULUMI_BACKEND_URL"] != pulumi_backend(url):
        raise UsageError("PULUMI_BACKEND_URL names another state backend than the team "
                         "database: unset it to move the state there (nothing was moved)")
    done = subprocess.run([str(pulumi_bin_dir() / "pulumi"), "stack", "ls", "--json",
                           "--non-interactive"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        raise EngineError(f"pulumi could not open the team database's state: {scrub(last, url)}")


def team_stacks(target: ControlPlane, url: str) -> list[str]:
    """The stacks the team database's Pulumi state already holds."""
    prefix = f"{_database_name(url)}/.pulumi/stacks/"
    found = target.database.execute(f"SELECT key FROM {TABLE} WHERE key LIKE ? AND key LIKE ?",
                                    (prefix + "%", "%.json"))
    return sorted(Path(row[0]).name.removesuffix(".json") for row in found)
