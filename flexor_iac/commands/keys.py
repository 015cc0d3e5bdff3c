"""`flexor keys create|list|revoke`: API keys (the secret is printed once, stored hashed)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tabulate import tabulate

from flexor_iac.access import keys
from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.access import ALL_VAULTS, Grant, StoredKey
from flexor_iac.controlplane.location import locate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths

FIRST_KEY = ("the first key must have scope admin: it switches access control on, and "
             "managing keys afterwards needs it")


@dataclass(frozen=True)
class NewKey:
    """What `keys create` was asked for."""

    name: str
    user: str
    scopes: tuple[str, ...]
    expires_in: timedelta | None = None
    secret_only: bool = False  # stdout holds the secret alone; the rest goes to stderr


def create(paths: ProjectPaths, request: NewKey, console: Console) -> int:
    """Create a key and print its secret once."""
    if unknown := sorted(set(request.scopes) - set(keys.SCOPES)):
        raise UsageError(f"unknown scope {', '.join(unknown)}; scopes are "
                         f"{', '.join(keys.SCOPES)}")
    now = clock.now()
    located = locate(paths.root)
    if isinstance(located, Path) and not os.path.lexists(located) and \
            "admin" not in request.scopes:  # no control plane, no key: refused, none made
        raise UsageError(FIRST_KEY)
    with ControlPlane.of(paths, say=console.progress) as store:
        bootstrap = not store.has_keys()
        if bootstrap and "admin" not in request.scopes:
            raise UsageError(FIRST_KEY)
        gate = Gate(paths.root, store)
        maker = gate.require_owner("keys create", "manage API keys") or request.user
        # read before anything is written: an invalid stack file refuses the bootstrap whole
        declared = {env: gate.declared(env) for env in Environment} if bootstrap else {}
        key_id, secret = keys.new_key()
        expires = now + request.expires_in if request.expires_in is not None else None
        # decided now: revoking the user's roles later never makes the key act as its maker
        acts_as = maker if maker != request.user and not store.grants(request.user) \
            and "admin" not in request.scopes else None
        store.add_key(StoredKey(key_id, request.name, request.user, request.scopes,
                                keys.hash_key(secret), now, expires, None, maker, acts_as))
        if bootstrap:
            store.grant(Grant(request.user, ALL_VAULTS, "owner", now, "bootstrap"))
            for env, protection in declared.items():  # from now on a stack file cannot lower
                store.record_protection(env.value, protection.to_json(), now, "bootstrap")
    console.document({"key_id": key_id, "name": request.name, "user": request.user,
                      "scopes": list(request.scopes), "secret": secret,
                      "expires_at": expires.isoformat() if expires else None})
    say = console.progress if request.secret_only else console.line
    say(f"Created key {key_id} ({request.name}) for {request.user}: "
        f"{', '.join(request.scopes)}; expires "
        f"{expires.strftime('%Y-%m-%d %H:%M UTC') if expires else 'never'}.")
    if bootstrap:
        say(f"Access control is now on; {request.user} is owner of every vault.")
    console.line(secret)
    say("Store it now (for example as FLEXOR_API_KEY in your CI secrets): it is not shown again.")
    return ExitCode.OK


def _state(key: StoredKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= clock.now():
        return "expired"
    return "active"


def list_keys(paths: ProjectPaths, console: Console) -> int:
    """Every key: id, name, user, scopes, dates, state — never a secret."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require_owner("keys list", "manage API keys")
        stored = store.keys()
    console.document([{"key_id": k.key_id, "name": k.name, "user": k.user,
                       "scopes": list(k.scopes), "created_at": k.created_at.isoformat(),
                       "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                       "state": _state(k)} for k in stored])
    if not stored:
        console.line("No API keys.")
        return ExitCode.OK
    table = [[k.key_id, k.name, k.user, " ".join(k.scopes), f"{k.created_at:%Y-%m-%d}",
              f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "never", _state(k)]
             for k in stored]
    console.line(tabulate(table, headers=("ID", "NAME", "USER", "SCOPES", "CREATED", "EXPIRES",
                                          "STATE"), tablefmt="plain", disable_numparse=True))
    return ExitCode.OK


def revoke(paths: ProjectPaths, key_id: str, console: Console) -> int:
    """Revoke a key (it stops working at once)."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require_owner("keys revoke", "manage API keys")
        if not store.revoke_key(key_id, clock.now()):
            raise FlexorError(f"no active key with id {key_id} (see `flexor keys list`)")
    console.document({"key_id": key_id, "state": "revoked"})
    console.line(f"Revoked key {key_id}.")
    return ExitCode.OK
