"""`flexor access grant|list|revoke`: roles per vault (viewer < operator < admin < owner)."""

from __future__ import annotations

from tabulate import tabulate

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.access import ALL_VAULTS, Grant
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths


def _granter(store: ControlPlane, paths: ProjectPaths, verb: str, vault: str) -> str:
    """Who changes roles: an owner of the vault, by key (once any key exists)."""
    gate = Gate(paths.root, store)
    principal = gate.require(verb)
    if principal is None:
        return local_actor()
    gate.require_role(principal, [vault], "owner", "manage roles")
    return principal.user


def grant(paths: ProjectPaths, user: str, role: str, vault: str | None,
          console: Console) -> int:
    """Give `user` `role` on `vault` (every vault without one)."""
    target = vault or ALL_VAULTS
    with ControlPlane.of(paths) as store:
        by = _granter(store, paths, "access grant", target)
        store.grant(Grant(user, target, role, clock.now(), by))
    where = f"vault {vault}" if vault else "every vault"
    console.document({"user": user, "role": role, "vault": target})
    console.line(f"{user} is now {role} on {where}.")
    return ExitCode.OK


def revoke(paths: ProjectPaths, user: str, vault: str | None, console: Console) -> int:
    """Take `user`'s role on `vault` (the every-vault grant without one) away."""
    target = vault or ALL_VAULTS
    with ControlPlane.of(paths) as store:
        _granter(store, paths, "access revoke", target)
        if not store.revoke_grant(user, target):
            raise FlexorError(f"{user} has no role on "
                              f"{'vault ' + vault if vault else 'every vault'}")
    console.document({"user": user, "vault": target, "role": None})
    console.line(f"{user} no longer has a role on {'vault ' + vault if vault else 'every vault'}.")
    return ExitCode.OK


def list_grants(paths: ProjectPaths, user: str | None, console: Console) -> int:
    """Every grant (of one user)."""
    with ControlPlane.of(paths) as store:
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
