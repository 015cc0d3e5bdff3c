"""The folder the Pulumi engine works in for `flexor` verbs: `.flexor/workspace/`.

Pulumi writes the passphrase provider's `encryptionsalt` into the stack file it works with,
and the salt belongs to this clone's passphrase. So that a checkout stays clean, flexor never
lets the engine work on the tracked `Pulumi.<env>.yaml`: before each session it copies the
tracked file into `.flexor/workspace/`, and the engine reads the salt back from the stack's
state (PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER, set by workspace.engine_env). The program is
inline and the providers find the project through FLEXOR_PROJECT_DIR, so nothing else moves.
See docs/decisions/003-passphrase-secrets.md.
"""

from __future__ import annotations

from pathlib import Path

from flexor_iac.constants import PULUMI_PROJECT, Environment
from flexor_iac.workspace import ProjectPaths

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
    folder.mkdir(parents=True, exist_ok=True)
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
    temporary = target.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(target)
