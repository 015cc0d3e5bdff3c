"""`flexor access grant|list|revoke`: roles per vault (viewer < operator < admin < owner)."""

from __future__ import annotations

from tabulate import tabulate

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.access import ALL_VAULTS, Grant
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.suggest import nearest, unknown_name
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.project.loading import load_project


def _granter(store: ControlPlane, paths: ProjectPaths, verb: str, vault: str) -> str:
    """Who changes roles: an owner of the vault, by key (once any key exists)."""
    gate = Gate(paths.root, store)
    principal = gate.require(verb)
    if principal is None:
        return local_actor()
    gate.require_role(principal, [vault], "owner", "manage roles")
    return principal.user


def _check_vault(paths: ProjectPaths, vault: str | None) -> None:
    """Refuse a vault the project does not have (before the control plane is opened: a
    refused grant makes none)."""
    if vault is not None:
        project, _ = load_project(paths.root, cache="read")
        vaults = {v.config.name for v in project.vaults} | set(project.invalid_vaults)
        if vault not in vaults:
            raise UsageError(f"--vault: {unknown_name(vault, vaults, 'vault of this project')}")


def _check_names(store: ControlPlane, user: str, new_user: bool) -> None:
    """Refuse a user flexor has not seen whose name is close to one it has (a typo), unless
    `new_user` says it is meant."""
    api_keys = store.keys()
    known = {g.user for g in store.grants()} | {k.user for k in api_keys}
    if new_user or user in known:
        return
    if (close := nearest(user, known, cutoff=0.8)) is not None:
        raise UsageError(f"--user: {user!r} has no key or role yet; did you mean {close}? "
                         f"(add --new-user if {user} is someone new)")


def grant(paths: ProjectPaths, user: str, role: str, vault: str | None,
          console: Console, new_user: bool = False) -> int:
    """Give `user` `role` on `vault` (every vault without one)."""
    target = vault or ALL_VAULTS
    _check_vault(paths, vault)
    with ControlPlane.of(paths, say=console.progress) as store:
        by = _granter(store, paths, "access grant", target)
        _check_names(store, user, new_user)
        store.grant(Grant(user, target, role, clock.now(), by))
    where = f"vault {vault}" if vault else "every vault"
    console.document({"user": user, "role": role, "vault": target})
    console.line(f"{user} is now {role} on {where}.")
    return ExitCode.OK


def revoke(paths: ProjectPaths, user: str, vault: str | None, console: Console) -> int:
    """Take `user`'s role on `vault` (the every-vault grant without one) away."""
    target = vault or ALL_VAULTS
    with ControlPlane.of(paths, create=False) as store:
        _granter(store, paths, "access revoke", target)
        if not store.revoke_grant(user, target):
            raise FlexorError(f"{user} has no role on "
                              f"{'vault ' + vault if vault else 'every vault'}")
    console.document({"user": user, "vault": target, "role": None})
    console.line(f"{user} no longer has a role on {'vault ' + vault if vault else 'every vault'}.")
    return ExitCode.OK


def list_grants(paths: ProjectPaths, user: str | None, console: Console) -> int:
    """Every grant (of one user)."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("access list")
        grants = store.grants(user)
    console.document([{"user": g.user, "vault": g.vault, "role": g.role,
                       "granted_at": g.granted_at.isoformat(), "granted_by": g.granted_by}
                      for g in grants])
    if not grants:
        console.line("No roles granted.")
        return ExitCode.OK
    console.line(tabulate([[g.user, "(every vault)" if g.vault == ALL_VAULTS else g.vault,
                            g.role, g.granted_by] for g in grants],
                          headers=("USER", "VAULT", "ROLE", "GRANTED BY"), tablefmt="plain"))
    return ExitCode.OK
