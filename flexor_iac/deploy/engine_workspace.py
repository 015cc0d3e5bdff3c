"""The folder the Pulumi engine works in for `flexor` verbs: `.flexor/workspace/`.

Pulumi writes the passphrase provider's `encryptionsalt` into the stack file it works with,
and the salt belongs to this clone's passphrase. So that a checkout stays clean, flexor never
lets the engine work on the tracked `Pulumi.<env>.yaml`: before each session it copies the
tracked file into `.flexor/workspace/`, and the engine reads the salt back from the stack's
state (PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER, set by engine_env below). The program is
inline and the providers find the project through FLEXOR_PROJECT_DIR, so nothing else moves.
See docs/decisions/003-passphrase-secrets.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flexor_iac.controlplane.location import backend_url as backend_url
from flexor_iac.controlplane.location import team_database
from flexor_iac.core.constants import PULUMI_PROJECT, Environment
from flexor_iac.core.errors import StateError, UsageError
from flexor_iac.core.workspace import PROJECT_VARIABLE, ProjectPaths, private_dir
from flexor_iac.deploy.toolchain import pulumi_bin_dir

# The project file of the engine's folder: only what an inline program needs.
_PROJECT_TEXT = (f"# Written by flexor: the engine's working folder (see {__name__}).\n"
                 f"name: {PULUMI_PROJECT}\nruntime: python\n")


def engine_folder(paths: ProjectPaths) -> Path:
    """Where the engine works for `flexor` verbs."""
    return paths.state_dir / "workspace"


def prepare(paths: ProjectPaths, env: Environment) -> Path:
    """The engine's folder, holding a copy of the tracked stack file of `env` (the tracked
    file's salt, if a team commits one, comes along)."""
    folder = engine_folder(paths)
    private_dir(folder)
    _write_if_changed(folder / "Pulumi.yaml", _PROJECT_TEXT)
    tracked = paths.root / f"Pulumi.{env.value}.yaml"
    copy = folder / tracked.name
    if tracked.is_file():
        _write_if_changed(copy, tracked.read_text())
    else:
        copy.unlink(missing_ok=True)
    return folder


def _write_if_changed(target: Path, text: str) -> None:
    try:
        if target.read_text() == text:
            return
    except OSError:
        pass
    temporary = target.with_name(f"{target.name}.{os.getpid()}")  # previews run side by side
    temporary.write_text(text)
    temporary.replace(target)


def _salted(paths: ProjectPaths) -> Path | None:
    """A file that shows stacks were encrypted with a passphrase already (None: none was)."""
    for stack_file in sorted([*paths.root.glob("Pulumi.*.yaml"),
                              *engine_folder(paths).glob("Pulumi.*.yaml")]):
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

        private_dir(paths.state_dir)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return target


TEAM_PASSPHRASE = ("team mode (FLEXOR_DATABASE_URL) needs the team's shared passphrase: set "
                   "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (a passphrase made "
                   "on one machine cannot open the stacks of another)")

# Paths an operator may give relative to where they run flexor.
RELATIVE_TO_CALLER = ("FLEXOR_CONTROL_PLANE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def engine_env(paths: ProjectPaths) -> dict[str, str]:
    """Environment for every Pulumi engine call: local backend, secrets, no network, our tools.

    An operator's own PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE(_FILE) win over the embedded
    defaults, so a team can point flexor at shared state and a shared passphrase.
    """
    env: dict[str, str] = {
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # One state write per update, not one per resource step: deploy/recovery.py makes a
        # killed update converge on the next deploy (docs/decisions/013).
        "PULUMI_SKIP_CHECKPOINTS": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_HOME": str(paths.pulumi_home),
        "PULUMI_PYTHON_CMD": sys.executable,
        # the salt comes from the state, never from a tracked stack file (engine_workspace)
        "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
        PROJECT_VARIABLE: str(paths.root),
        "PATH": f"{pulumi_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if "PULUMI_BACKEND_URL" not in os.environ:
        env["PULUMI_BACKEND_URL"] = backend_url(paths)
        if env["PULUMI_BACKEND_URL"].startswith("file://"):
            private_dir(paths.backend_dir)
    if not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(os.environ):
        if team_database(paths.root) is not None:
            raise UsageError(TEAM_PASSPHRASE)
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(ensure_passphrase(paths))
    # The engine and the providers work in the engine's folder, not where flexor was started:
    # a relative path the caller gave means what it meant to the caller.
    for name in RELATIVE_TO_CALLER:
        if given := os.environ.get(name):
            env[name] = str(Path(given).absolute())
    return env
