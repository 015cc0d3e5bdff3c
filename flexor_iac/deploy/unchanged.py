"""No engine for nothing: a deploy whose project and stack did not move since the last one
says "No changes" without starting the Pulumi engine.

After every full deploy that ends with the stack holding the whole project (an update, or a
preview that found nothing to do) the control plane keeps, per environment, the *project
digest* (every declared resource's inputs — resolved agents and skills, vault configuration,
bound snapshots —, the project and stack files, the versions of flexor, of its resource
code and of the Pulumi toolchain), the digest of the stack's state, and the no-change plan.
The next deploy whose two digests match shows that plan again. Anything else — `--refresh`,
`--agent`, a saved or requested plan, a vault to publish, a cut-off update, a different
project digest, a stack changed by anyone (another clone, a rollback, a direct `pulumi`
command) — goes through the engine. See docs/decisions/016-no-engine-for-nothing.md.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flexor_iac import __version__
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import plan as plans
from flexor_iac.deploy.toolchain import pins
from flexor_iac.project.digest import json_digest

# The code that decides what a deploy of unchanged inputs does: a change to it re-plans.
_DECIDING_CODE = ("resources", "deploy/program.py", "deploy/plan.py")
_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def _code_digest() -> str:
    digest = hashlib.sha256()
    for name in _DECIDING_CODE:
        where = _PACKAGE / name
        for source in sorted(where.glob("*.py")) if where.is_dir() else [where]:
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def project_digest(paths: ProjectPaths, env: Environment, inputs: str) -> str:
    """The digest of everything a deploy of `env` is computed from, the stack aside.

    `inputs`: program.inputs_digest of the declared resources (they carry the bound
    snapshots' digests and the stack settings the program reads).
    """
    return json_digest({
        "inputs": inputs,
        "project_file": _text(paths.root / "Pulumi.yaml"),
        "stack_file": _text(paths.root / f"Pulumi.{env.value}.yaml"),
        "flexor": __version__,
        "code": _code_digest(),
        "toolchain": pins(),
    })


def _key(env: Environment) -> str:
    return f"deployed/{env.value}"


def record(store: ControlPlane, env: Environment, project: str, state: str,
           plan: plans.Plan) -> None:
    """Keep a full deploy's digests and its no-change plan."""
    store.set_note(_key(env), json.dumps({"project": project, "state": state,
                                          "plan": plans.to_json(plan)}))


def still(store: ControlPlane, env: Environment, project: str, state: str) -> plans.Plan | None:
    """The recorded no-change plan when neither the project nor the stack moved (None: they
    did, nothing is recorded, or the record is unreadable)."""
    try:
        found = json.loads(store.note(_key(env)) or "null")
        if found is None or (found["project"], found["state"]) != (project, state):
            return None
        return plans.from_json(found["plan"])
    except (ValueError, KeyError, TypeError):
        return None
