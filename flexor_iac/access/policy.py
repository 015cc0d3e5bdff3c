"""Who may do what: the scope each verb needs, where a key is required, roles per vault.

The table below is the one place verbs meet scopes (docs/guides/keys-and-roles.md prints the
same table; a test keeps them equal). A refusal names the scope that was needed — never which
part of a key was wrong, and never the key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from flexor_iac.access import keys
from flexor_iac.access.protection import Protection
from flexor_iac.controlplane.access import ALL_VAULTS
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import FlexorError, PolicyRefusal
from flexor_iac.project.loading import load_stack

KEY_VARIABLE = "FLEXOR_API_KEY"
# Set by the team server for the verbs it runs: its clients present a key, and the key's scopes
# and roles decide on every environment, not only where the stack requires a key.
REQUIRE_VARIABLE = "FLEXOR_REQUIRE_API_KEY"
VERB_SCOPES: Mapping[str, str] = MappingProxyType({
    "deploy": "deploy:{env}", "rollback": "deploy:{env}",
    "deploy --dry-run": "read", "rollback --dry-run": "read",
    "run": "run:{env}", "pause": "run:{env}", "resume": "run:{env}",
    "plexifact load": "run:{env}", "plexifact emit": "run:{env}", "serve": "run:{env}",
    "status": "read", "agents list": "read", "logs": "read", "audit": "read", "history": "read",
    "requests list": "read", "requests show": "read",
    "approve": "admin", "reject": "admin",
    "keys create": "admin", "keys list": "admin", "keys revoke": "admin",
    "access grant": "admin", "access list": "admin", "access revoke": "admin",
    "trust add": "admin", "trust list": "admin", "trust remove": "admin",
})
ROLES = ("viewer", "operator", "admin", "owner")


@dataclass(frozen=True)
class Principal:
    """Who a valid key belongs to, and what it may do."""

    user: str
    key_id: str
    scopes: frozenset[str]
    # whose roles apply: the user's own, or — while the user has none — the maker's, for a key
    # made (without scope admin) for a user who then had no roles: a CI identity
    acts_as: str = ""

    def may(self, scope: str) -> bool:
        """Whether the key grants `scope` (`admin` includes `read`)."""
        return scope in self.scopes or (scope == "read" and "admin" in self.scopes)


# Why a direct `pulumi up`/`destroy` may not change a PLEXI-managed production.
MANAGED_DIRECT = ("refused: production is PLEXI-managed; changes go through `flexor deploy "
                  "--env production` (a deployment request) or `flexor rollback`, never "
                  "`pulumi up` or `pulumi destroy` directly")


@dataclass(frozen=True)
class Authority:
    """What an authorized deploy may do, and under which protection."""

    principal: Principal | None
    protection: Protection
    environment: Environment | None = None

    @property
    def managed(self) -> bool:
        """Whether changes go through PLEXI's managed path (a PLEXI-managed production)."""
        return self.environment is Environment.PRODUCTION and self.protection.managed


def role_rank(role: str | None) -> int:
    """viewer 1 < operator 2 < admin 3 < owner 4 (0: no role)."""
    return ROLES.index(role) + 1 if role in ROLES else 0


class Gate:
    """Checks one invocation against the policy (built once per verb)."""

    def __init__(self, root: Path, store: ControlPlane, token: str | None = None) -> None:
        self.root = root
        self.store = store
        self.token = os.environ.get(KEY_VARIABLE) if token is None else token

    def principal(self) -> Principal | None:
        """The key's owner when FLEXOR_API_KEY holds a valid, unexpired, unrevoked key."""
        if not self.token or (key_id := keys.key_id_of(self.token)) is None:
            return None
        stored = self.store.key(key_id)
        if stored is None or stored.revoked_at is not None:
            return None
        if stored.expires_at is not None and stored.expires_at <= clock.now():
            return None
        if not keys.matches(stored.hash, self.token):
            return None
        acts_as = stored.acts_as if stored.acts_as and not self.store.grants(stored.user) \
            else stored.user
        return Principal(stored.user, stored.key_id, frozenset(stored.scopes), acts_as)

    def declared(self, env: Environment) -> Protection:
        """The protection `Pulumi.<env>.yaml` declares."""
        stack, _diagnostics = load_stack(self.root, env)
        if stack is None and (self.root / f"Pulumi.{env.value}.yaml").exists():
            raise FlexorError(f"Pulumi.{env.value}.yaml is invalid; run `flexor validate`")
        return Protection.declared(stack.settings if stack else None, env)

    def recorded(self, env: Environment) -> Protection | None:
        """The protection the control plane recorded (once access control was on)."""
        spec = self.store.protection(env.value)
        if spec is None:  # keys made before protection was recorded: the default applies
            return Protection.declared(None, env) if self.store.has_keys() else None
        return Protection.from_json(spec)

    def protection(self, env: Environment) -> Protection:
        """What applies: the declared protection, never weaker than the recorded one."""
        declared, recorded = self.declared(env), self.recorded(env)
        return recorded.with_(declared) if recorded else declared

    def required(self, env: Environment) -> bool:
        """Whether verbs on `env` need a key (flexor:requireApiKey; default production; every
        environment for the verbs a team server runs: FLEXOR_REQUIRE_API_KEY=1)."""
        return os.environ.get(REQUIRE_VARIABLE) == "1" or self.protection(env).require_api_key

    def require(self, verb: str, env: Environment | None = None,
                command: str | None = None) -> Principal | None:
        """The principal, when `verb` (on `env`) needs a key; refuse when it has none valid.

        Environment verbs need a key where the environment requires one; the admin verbs
        need one as soon as any key exists (before that, the first key bootstraps access).
        The refusal names `command` (a direct `pulumi destroy`, say), else `flexor <verb>`.
        """
        scope = VERB_SCOPES[verb].format(env=env.value if env else "")
        if env is None or scope == "read":  # reading needs a key only once access control is on
            needed = self.store.has_keys() and (env is None or self.required(env))
        else:
            needed = self.required(env)
        if not needed:
            return None
        principal = self.principal()
        if principal is None or not principal.may(scope):
            where = f" on {env.value}" if env is not None else ""
            raise PolicyRefusal(f"refused: `{command or 'flexor ' + verb}`{where} needs an API "
                                f"key with scope {scope} ({KEY_VARIABLE})")
        return principal

    def authorize_deploy(self, env: Environment, vaults: Iterable[str],
                         command: str | None = None) -> Authority:
        """`flexor deploy` and a direct `pulumi up` alike: the key, the roles on every vault the
        deploy touches, and no lowering of a recorded protection without an admin key."""
        principal = self.require("deploy", env, command)
        self.require_deploy_roles(principal, vaults, env)
        recorded = self.recorded(env)
        lowered = recorded.lowered_by(self.declared(env)) if recorded else []
        if lowered and (principal is None or "admin" not in principal.scopes):
            raise PolicyRefusal(
                f"refused: Pulumi.{env.value}.yaml lowers {env.value}'s recorded protection "
                f"({', '.join(lowered)}); only a deploy with an admin key ({KEY_VARIABLE}) may "
                "lower it")
        return Authority(principal, self.protection(env), env)

    def authorize_change(self, env: Environment, vaults: Iterable[str],
                         dry_run: bool = False, command: str | None = None) -> Authority:
        """The one authorization of a change to `env` — `flexor deploy`, `flexor rollback`
        and a direct `pulumi up` or `destroy` alike (`command` names the direct one): a dry
        run needs what reading needs, an apply what `authorize_deploy` checks."""
        if dry_run:  # a dry run changes nothing: reading is enough
            return Authority(self.require("deploy --dry-run", env, command),
                             self.protection(env), env)
        return self.authorize_deploy(env, vaults, command)

    def role(self, user: str, vault: str) -> str | None:
        """A user's highest role on a vault (a grant on `*` counts for every vault)."""
        held = [g.role for g in self.store.grants(user) if g.vault in (vault, ALL_VAULTS)]
        return max(held, key=role_rank, default=None)

    def require_role(self, principal: Principal, vaults: Iterable[str], minimum: str,
                     action: str) -> None:
        """Refuse unless the key's user has at least `minimum` on every vault."""
        for vault in sorted(vaults):
            role = self.role(principal.acts_as or principal.user, vault)
            if role_rank(role) < role_rank(minimum):
                raise PolicyRefusal(f"refused: user {principal.user} may not {action} "
                                    f"(role on vault {vault}: {role or 'none'}; "
                                    f"needs {minimum})")

    def require_deploy_roles(self, principal: Principal | None, vaults: Iterable[str],
                             env: Environment) -> None:
        """With a key: its user may deploy to `env` on every vault the deploy touches."""
        if principal is not None:
            self.require_role(principal, vaults, "operator" if env is Environment.SANDBOX
                              else "admin", f"deploy to {env.value}")

    def require_owner(self, verb: str, action: str) -> str | None:
        """Managing keys and trust needs an admin-scoped key of an owner of every vault (once
        any key exists): the owner's user, or None when no key was needed."""
        if (principal := self.require(verb)) is not None:
            self.require_role(principal, [ALL_VAULTS], "owner", action)
            return principal.user
        return None
