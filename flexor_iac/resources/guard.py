"""What every provider checks before it changes the control plane, in the provider process:
the stack belongs to this control plane, and whoever runs the engine may deploy there.

The engine calls providers for `flexor deploy`, a direct `pulumi up` and `pulumi destroy`
alike (destroy never runs the program), so this is the one check none of them can skip.
Each resource records the identity of the control plane it was applied to; a stack applied
to one control plane is refused by another (FLEXOR_CONTROL_PLANE pointed elsewhere), unless
the first is gone and a refresh adopts the stack.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from flexor_iac.access.lineage import trusted_lineage
from flexor_iac.access.policy import KEY_VARIABLE, MANAGED_DIRECT, Gate
from flexor_iac.controlplane.health import identity_at
from flexor_iac.controlplane.location import is_url
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.core.engine_lifetime import engine_pid
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.procfs import command_of
from flexor_iac.core.workspace import find_project

# Output only: the control plane a resource was last applied to ({"id", "path"}).
CONTROL_PLANE_KEY = "control_plane"
# (database, environment, key, vaults) already authorized in this provider process, and whether
# that environment is a PLEXI-managed production: the Argon2 check of a key costs tens of
# milliseconds, and an update calls the provider once per resource.
_AUTHORIZED: dict[tuple[str, str, str | None, tuple[str, ...]], bool] = {}


# The engine's verbs that call providers, as the command line of a direct run names them.
_ENGINE_VERBS = frozenset({"up", "update", "destroy", "import", "refresh", "preview"})


def direct_command() -> str | None:
    """The direct `pulumi <verb>` whose engine started this provider process, for a refusal
    to name; None under flexor (the Automation API runs its engine) or outside an engine."""
    if os.environ.get("PULUMI_AUTOMATION_API") or (engine := engine_pid()) is None:
        return None
    verb = next((arg for arg in command_of(engine)[1:] if arg in _ENGINE_VERBS), None)
    return f"pulumi {verb}" if verb else "pulumi"


def plane_record(store: ControlPlane) -> dict[str, str]:
    """What a resource records about the control plane it was applied to."""
    return {"id": store.identity, "path": store.where}


def _belongs_elsewhere(store: ControlPlane, recorded: Any, adopting: bool = False) -> str | None:
    """The refusal when the resource was applied to another control plane that still exists.

    A team database records its URL without the password, so one that cannot be reached from
    here may well exist: a deploy is refused, and only a refresh (`adopting`) takes it over."""
    if not isinstance(recorded, dict) or recorded.get("id") is None:
        return None
    where = str(recorded.get("path"))
    if recorded["id"] == store.identity:
        return _copy_of(store, where)
    found = None if where == store.where else identity_at(where)  # ours: replaced since
    unconfirmed = found is None and is_url(where) and where != store.where and not adopting
    if found != recorded["id"] and not unconfirmed:
        return None  # that database is gone (lost or replaced): this one may adopt the stack
    hint = ("; it cannot be reached from here to confirm it is gone: run `flexor deploy "
            "--refresh` to adopt the stack here if it is") if unconfirmed else ""
    return (f"refused: this stack was applied to the control plane at {where} (identity "
            f"{recorded['id'][:8]}), not {store.where} ({store.identity[:8]}); point "
            f"FLEXOR_CONTROL_PLANE (or FLEXOR_DATABASE_URL) back at it{hint}")


def _copy_of(store: ControlPlane, where: str) -> str | None:
    """The refusal when this control plane is a copy of the one the resource was applied to
    (the same identity at another path), and that one still exists: a copy may carry edits
    (a viewer's key made admin) the original never saw. Once the original is gone (moved, or
    lost) the copy carries on and the next apply records its path."""
    if where == store.where or is_url(where) or is_url(store.where) \
            or identity_at(where) != store.identity:
        return None
    return (f"refused: {store.where} is a copy of the control plane at {where} (identity "
            f"{store.identity[:8]}), to which this stack was applied; point "
            "FLEXOR_CONTROL_PLANE back at it, or move it aside first if the copy is to replace "
            "it")


def check_plane(store: ControlPlane, olds: dict[str, Any] | None) -> None:
    """Refuse to change a resource that another, still existing, control plane holds; a
    resource whose control plane is gone must be adopted by a refresh first."""
    recorded = (olds or {}).get(CONTROL_PLANE_KEY)
    if (refusal := _belongs_elsewhere(store, recorded)) is not None:
        raise PolicyRefusal(refusal)
    if isinstance(recorded, dict) and recorded.get("id") != store.identity:
        raise PolicyRefusal(
            f"refused: this stack was applied to another control plane ({recorded.get('path')}"
            f", now gone); run `flexor deploy --refresh` to rebuild it in {store.where}")


def adopted(store: ControlPlane, props: dict[str, Any]) -> dict[str, str]:
    """On refresh: the control plane the resource now belongs to (refused while the one it
    was applied to still exists elsewhere)."""
    if (refusal := _belongs_elsewhere(store, props.get(CONTROL_PLANE_KEY), adopting=True)) \
            is not None:
        raise PolicyRefusal(refusal)
    return plane_record(store)


def authorize(store: ControlPlane, env: str, vaults: Iterable[str]) -> None:
    """The caller's key (FLEXOR_API_KEY) may deploy to `env`, on every vault the resource
    touches, under the recorded protection; a PLEXI-managed production changes only through
    flexor (an approved request, or a rollback), never a direct `pulumi up`/`destroy`: only
    in a process of the lineage access.lineage.trusted_lineage states."""
    token = os.environ.get(KEY_VARIABLE)
    cached = (store.where, env, token, tuple(sorted(vaults)))
    paths = find_project()
    environment = Environment(env)
    if (managed := _AUTHORIZED.get(cached)) is None:
        managed = Gate(paths.root, store).authorize_change(
            environment, cached[3], command=direct_command()).managed
        _AUTHORIZED[cached] = managed
    if managed and not trusted_lineage(paths, environment):
        raise PolicyRefusal(MANAGED_DIRECT)
