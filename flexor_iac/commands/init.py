"""`flexor init`: scaffold a new Flexor project that validates and deploys."""

from __future__ import annotations

import re
from pathlib import Path

from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.core.output import Console
from flexor_iac.project.models import VAULT_NAME_PATTERN
from flexor_iac.project.scaffold import write_project

# A vault's name is a folder's name (vaults/NAME) and a part of others: far below NAME_MAX.
MAX_VAULT_NAME = 64


def run(directory: Path, vault: str, console: Console) -> int:
    """Create the project in `directory` (created if needed; must not already be a project)."""
    if not re.match(VAULT_NAME_PATTERN, vault) or len(vault) > MAX_VAULT_NAME:
        raise UsageError(f"vault name {vault!r} may hold only letters, digits and hyphens "
                         f"(at most {MAX_VAULT_NAME})")
    try:
        if (directory / "Pulumi.yaml").exists():
            raise FlexorError(f"{directory / 'Pulumi.yaml'} already exists; nothing was written")
        directory.mkdir(parents=True, exist_ok=True)
        written = write_project(directory, vault)
    except OSError as error:  # a device, a FIFO, a file, a name too long, a symlink loop
        raise FlexorError(f"cannot make a project in {directory}: {error.strerror or error}"
                          ) from None
    if console.json_mode:
        console.document({"project": str(directory), "files": written})
        return ExitCode.OK
    for name in written:
        console.line(f"  created {name}")
    console.line(f"Flexor project ready in {directory}. Next: cd {directory} && flexor validate "
                 f"&& flexor sync --vault {vault} && flexor deploy --env sandbox")
    return ExitCode.OK
