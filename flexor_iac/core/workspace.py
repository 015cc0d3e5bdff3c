"""A Flexor project on disk: where it is, where its local state lives, the engine's environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flexor_iac.core.constants import STATE_DIR_NAME
from flexor_iac.core.errors import ProjectNotFound

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


def private_dir(folder: Path) -> Path:
    """`folder`, made if missing with each missing parent readable by its owner only (0700):
    what flexor keeps under .flexor/ (keys' hashes, run logs, state) is nobody else's."""
    missing = []
    for step in (folder, *folder.parents):
        if step.is_dir():
            break
        missing.append(step)
    for step in reversed(missing):
        step.mkdir(mode=0o700, exist_ok=True)
    return folder


def find_project(start: Path | None = None) -> ProjectPaths:
    """The nearest folder at or above `start` (default: $FLEXOR_PROJECT_DIR, else the cwd)
    that holds a Pulumi.yaml."""
    if start is None and (named := os.environ.get(PROJECT_VARIABLE)):
        start = Path(named)
    try:
        origin = (start or Path.cwd()).resolve()
        for folder in (origin, *origin.parents):
            if (folder / PROJECT_FILE).is_file():
                return ProjectPaths(folder)
    except (OSError, RuntimeError) as error:  # a name too long; a symlink loop (RuntimeError)
        raise ProjectNotFound(f"cannot look for {PROJECT_FILE} at or above {start}: "
                              f"{getattr(error, 'strerror', None) or error}") from None
    raise ProjectNotFound(
        f"no {PROJECT_FILE} at or above {origin}: run inside a Flexor project or pass --project-dir"
    )
