"""`flexor sync`: publish vaults as immutable, content-addressed snapshots (no env changes)."""

from __future__ import annotations

from flexor_iac.access.policy import KEY_VARIABLE, Gate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import ExitCode, Tier
from flexor_iac.core.errors import PolicyRefusal, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.snapshots import local_digest, publish
from flexor_iac.project.diagnostics import has_errors, report
from flexor_iac.project.loading import VaultSource
from flexor_iac.project.validate import validate_project


def _chosen(vaults: tuple[VaultSource, ...], names: tuple[str, ...] | None
            ) -> list[VaultSource]:
    """The vaults named (None: every vault), in the order given."""
    by_name = {v.config.name: v for v in vaults}
    if names is None:
        return sorted(vaults, key=lambda v: v.config.name)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise UsageError(f"no vault named {', '.join(unknown)} (vaults: {known})")
    return [by_name[n] for n in names]


def _folders(vaults: tuple[VaultSource, ...], names: tuple[str, ...] | None) -> list[str]:
    """The folders under vaults/ whose files must be valid: every one (None), or those of the
    named vaults, a name no vault.json loaded taken as its folder's (a vault.json that does not
    parse is reported, not taken for a vault that does not exist)."""
    if names is None:
        return ["vaults"]
    folders = {v.config.name: f"vaults/{v.directory}" for v in vaults}
    return [folders.get(name, f"vaults/{name}") for name in names]


def _in_folders(path: str, folders: list[str]) -> bool:
    return any(path == folder or path.startswith(f"{folder}/") for folder in folders)


def _authorize_l2(paths: ProjectPaths, store: ControlPlane,
                  chosen: list[VaultSource]) -> None:
    """An L2 vault edit needs an admin of the vault (by key, once access control is on)."""
    shared = [v.config.name for v in chosen if v.config.tier is Tier.L2]
    if not shared or not store.has_keys():
        return
    gate = Gate(paths.root, store)
    if (principal := gate.principal()) is None:
        raise PolicyRefusal(f"refused: syncing L2 vault {shared[0]} needs the API key "
                            f"({KEY_VARIABLE}) of a user with the admin role on it")
    gate.require_role(principal, shared, "admin", "edit an L2 vault")


def run(paths: ProjectPaths, names: tuple[str, ...] | None, dry_run: bool,
        console: Console) -> int:
    """Publish each named vault, or every vault (None): a no-op when its content is
    unchanged."""
    project, diagnostics = validate_project(paths.root)
    own = [d for d in diagnostics if _in_folders(d.path, _folders(project.vaults, names))]
    report(console, own)
    if has_errors(own):
        console.error("the vault has errors; nothing was synced")
        return ExitCode.FAILED
    chosen = _chosen(project.vaults, names)
    results = []
    with ControlPlane.of(paths, say=console.progress) as store:
        _authorize_l2(paths, store, chosen)
        for vault in chosen:
            newest = store.newest_snapshot(vault.config.name)
            if dry_run:
                digest = local_digest(paths, vault)
                changed = newest is None or newest.digest != digest
            else:
                published = publish(paths, vault, store)
                digest, changed = published.digest, published.created
            results.append({"vault": vault.config.name, "digest": digest, "changed": changed,
                            "files": len(vault.files), "applied": changed and not dry_run})
            verb = ("would publish" if dry_run else "published") if changed else "unchanged:"
            console.line(f"{vault.config.name}: {verb} snapshot {digest[:19]}… "
                         f"({len(vault.files)} files)")
    console.document({"dry_run": dry_run, "vaults": results})
    return ExitCode.OK
