"""What a deploy to one environment binds: each in-scope vault's snapshot (decision 004)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.snapshots import (
    JOURNAL,
    local_digest,
    recover,
    snapshot_folder,
    vault_directory,
)
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.loading import Project, VaultSource, load_vault, with_vaults
from flexor_iac.project.selection import Selection, select, vault_skip_reason


@dataclass(frozen=True)
class VaultSync:
    """A vault's working-tree content against its newest snapshot."""

    vault: VaultSource
    local: str
    newest: str | None

    @property
    def state(self) -> str:
        """`never`, `current` or `stale`."""
        if self.newest is None:
            return "never"
        return "current" if self.newest == self.local else "stale"


@dataclass(frozen=True)
class DeploymentView:
    """The project as one environment will get it: agents from the tree, vaults from snapshots."""

    environment: Environment
    project: Project
    selection: Selection
    snapshots: dict[str, str]
    to_publish: tuple[VaultSource, ...]
    warnings: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def vault_names(self) -> list[str]:
        """The vaults in the environment's scope (a deploy needs a role on each)."""
        return [v.config.name for v in self.selection.vaults]


def sync_states(paths: ProjectPaths, project: Project, plane: ControlPlane) -> list[VaultSync]:
    """Every vault's sync state (rebuilding lost snapshot records from the journal first)."""
    recover(paths, plane)
    states = []
    for vault in project.vaults:
        newest = plane.newest_snapshot(vault.config.name)
        states.append(VaultSync(vault, local_digest(paths, vault),
                                newest.digest if newest else None))
    return states


def _never_synced(name: str) -> str:
    return f"vault {name} was never synced (run `flexor sync --vault {name}`)"


def makes_the_control_plane(paths: ProjectPaths) -> bool:
    """Whether a deploy would make the embedded control plane (its file missing or empty, and
    no publication journal to rebuild snapshots from): then no vault has a snapshot yet."""
    where = locate(paths.root)
    if not isinstance(where, Path) or (paths.state_dir / "snapshots" / JOURNAL).exists():
        return False
    try:
        return where.stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False  # opening the store says what is wrong with the path


def refuse_unbound(project: Project, env: Environment) -> None:
    """Refuse (exit 3), before a control plane is made, the deploy `view` would refuse in
    one that has no snapshots: each vault in scope that `sync.auto` does not publish was
    never synced. A refused deploy leaves no control plane (nor `.flexor/`) behind."""
    problems = [_never_synced(vault.config.name) for vault in project.vaults
                if vault_skip_reason(vault, env) is None and not vault.config.sync.auto]
    if problems:
        raise PolicyRefusal(f"refused to deploy to {env.value}: " + "; ".join(problems))


def _source(paths: ProjectPaths, plane: ControlPlane, sync: VaultSync, env: Environment,
            problems: list[str], warnings: list[str]) -> tuple[Path, str, bool] | None:
    """(folder to load the vault from, digest it binds, publish first?) or None if refused."""
    name = sync.vault.config.name
    if sync.state == "current":
        return snapshot_folder(paths, plane, sync.local), sync.local, False
    if sync.vault.config.sync.auto:
        return vault_directory(paths, sync.vault), sync.local, True
    if sync.newest is None:
        problems.append(_never_synced(name))
        return None
    if env is Environment.PRODUCTION:
        problems.append(f"vault {name} has local changes not synced (run `flexor sync --vault "
                        f"{name}`; production deploys only synced content)")
        return None
    warnings.append(f"vault {name} has local changes that are not synced; deploying its "
                    f"newest snapshot without them (run `flexor sync --vault {name}`)")
    return snapshot_folder(paths, plane, sync.newest), sync.newest, False


def view(paths: ProjectPaths, project: Project, env: Environment,
         plane: ControlPlane) -> DeploymentView:
    """Bind each in-scope vault's snapshot; refuse (exit 3) what may not be deployed."""
    problems: list[str] = []
    warnings: list[str] = []
    vaults: list[VaultSource] = []
    snapshots: dict[str, str] = {}
    publish: list[VaultSource] = []
    diagnostics: list[Diagnostic] = []
    for sync in sync_states(paths, project, plane):
        if vault_skip_reason(sync.vault, env) is not None:
            vaults.append(sync.vault)  # not deployed here; kept so agents name a known vault
            continue
        source = _source(paths, plane, sync, env, problems, warnings)
        if source is None:
            continue
        folder, digest, first = source
        loaded, found = load_vault(paths.root, folder)
        diagnostics += found
        if loaded is not None:
            vaults.append(loaded)
            snapshots[loaded.config.name] = digest
        if first:
            publish.append(sync.vault)
    if problems:
        raise PolicyRefusal(f"refused to deploy to {env.value}: " + "; ".join(problems))
    deployed = with_vaults(project, tuple(vaults))
    return DeploymentView(env, deployed, select(deployed, env), snapshots, tuple(publish),
                          tuple(warnings), tuple(diagnostics))
