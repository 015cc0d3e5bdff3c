"""A Flexor project on disk: where it is, where its local state lives, the engine's environment."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from flexor_iac.constants import STATE_DIR_NAME
from flexor_iac.errors import ProjectNotFound, StateError

PROJECT_FILE = "Pulumi.yaml"
# The project's root, for processes that run elsewhere (the engine works in .flexor/workspace).
PROJECT_VARIABLE = "FLEXOR_PROJECT_DIR"


@dataclass(frozen=True)
class ProjectPaths:
    """The folders and files of one Flexor project (embedded defaults under .flexor/)."""

    root: Path

    @property
    def state_dir(self) -> Path:
        """`.flexor/`: everything local and git-ignored."""
        return self.root / STATE_DIR_NAME

    @property
    def backend_dir(self) -> Path:
        """The `file://` Pulumi backend."""
        return self.state_dir / "state"

    @property
    def passphrase_file(self) -> Path:
        """The generated passphrase for Pulumi secrets (used when none is given)."""
        return self.state_dir / "passphrase"

    @property
    def pulumi_home(self) -> Path:
        """A private PULUMI_HOME: plugins, credentials and workspace selection stay here."""
        return self.state_dir / "pulumi-home"

    @property
    def logs_dir(self) -> Path:
        """Crash logs with tracebacks."""
        return self.state_dir / "logs"


def find_project(start: Path | None = None) -> ProjectPaths:
    """The nearest folder at or above `start` (default: $FLEXOR_PROJECT_DIR, else the cwd)
    that holds a Pulumi.yaml."""
    if start is None and (named := os.environ.get(PROJECT_VARIABLE)):
        start = Path(named)
    origin = (start or Path.cwd()).resolve()
    for folder in (origin, *origin.parents):
        if (folder / PROJECT_FILE).is_file():
            return ProjectPaths(folder)
    raise ProjectNotFound(
        f"no {PROJECT_FILE} at or above {origin}: run inside a Flexor project or pass --project-dir"
    )


def _salted(paths: ProjectPaths) -> Path | None:
    """A file that shows stacks were encrypted with a passphrase already (None: none was)."""
    engine_folder = paths.state_dir / "workspace"  # engine_workspace.engine_folder
    for stack_file in sorted([*paths.root.glob("Pulumi.*.yaml"),
                              *engine_folder.glob("Pulumi.*.yaml")]):
        if "encryptionsalt:" in stack_file.read_text(errors="replace"):
            return stack_file
    stacks = paths.backend_dir / ".pulumi" / "stacks"
    return next(iter(sorted(stacks.rglob("*.json"))), None) if stacks.is_dir() else None


def ensure_passphrase(paths: ProjectPaths) -> Path:
    """Create the project's random passphrase once (mode 0600) and return its path.

    Never while stacks were already encrypted with one: a new passphrase cannot open them.
    """
    target = paths.passphrase_file
    if not target.exists():
        if (salted := _salted(paths)) is not None:
            raise StateError(
                f"the passphrase file {target} is missing, but {salted} was encrypted with a "
                "passphrase: restore the file, or set PULUMI_CONFIG_PASSPHRASE (or "
                "PULUMI_CONFIG_PASSPHRASE_FILE) to that passphrase")
        import secrets  # hmac & hashlib: only the first engine call of a project needs them

        paths.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return target


def backend_url(paths: ProjectPaths) -> str:
    """The Pulumi state backend: $PULUMI_BACKEND_URL, else the embedded `file://` folder."""
    return os.environ.get("PULUMI_BACKEND_URL") or f"file://{paths.backend_dir}"


def engine_env(paths: ProjectPaths) -> dict[str, str]:
    """Environment for every Pulumi engine call: local backend, secrets, no network, our tools.

    An operator's own PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE(_FILE) win over the embedded
    defaults, so a team can point flexor at shared state and a shared passphrase.
    """
    from flexor_iac.toolchain import pulumi_bin_dir  # tomllib & co. only for engine verbs

    env: dict[str, str] = {
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_HOME": str(paths.pulumi_home),
        "PULUMI_PYTHON_CMD": sys.executable,
        # the salt comes from the state, never from a tracked stack file (engine_workspace)
        "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
        PROJECT_VARIABLE: str(paths.root),
        "PATH": f"{pulumi_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if "PULUMI_BACKEND_URL" not in os.environ:
        paths.backend_dir.mkdir(parents=True, exist_ok=True)
        env["PULUMI_BACKEND_URL"] = backend_url(paths)
    if not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(os.environ):
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(ensure_passphrase(paths))
    return env
