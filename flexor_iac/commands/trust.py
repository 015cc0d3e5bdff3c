"""`flexor trust add|list|remove`: which CI OIDC tokens (GitHub Actions') the team server
exchanges for a short-lived key (access/oidc.py), managed by an owner's admin key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from flexor_iac.access import keys, oidc
from flexor_iac.access.issuers import address_problem
from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.location import locate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.controlplane.trust import TrustRule
from flexor_iac.core import clock
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError, PolicyRefusal, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths

# What a rule may grant: a key's scopes but admin (a token never manages keys, roles or rules).
RULE_SCOPES = tuple(scope for scope in keys.SCOPES if scope != "admin")
ACCESS_OFF = ("refused: a trust rule needs access control on: make the first key first "
              "(`flexor keys create --name N --user U --scope admin`)")


@dataclass(frozen=True)
class NewRule:
    """What `trust add` was asked for."""

    issuer: str
    audience: str
    repository_id: str
    scopes: tuple[str, ...]
    environment: str | None = None
    ref: str | None = None
    user: str | None = None


def _checked(request: NewRule) -> TrustRule:
    """The rule `request` asks for (not yet made), or a usage error naming the option."""
    if (problem := address_problem(request.issuer)) is not None:
        raise UsageError(f"--issuer {request.issuer} {problem}")
    if not request.audience.strip():
        raise UsageError("--audience must not be empty")
    if not request.repository_id.isdigit() or not request.repository_id.isascii():
        raise UsageError(f"--repository-id {request.repository_id!r} is not a number: GitHub's "
                         "numeric repository id (`gh api repos/OWNER/REPO --jq .id`), which "
                         "survives a rename, unlike OWNER/REPO")
    for option, value in (("--environment", request.environment), ("--ref", request.ref),
                          ("--user", request.user)):
        if value is not None and not value.strip():
            raise UsageError(f"{option} must not be empty")
    if "admin" in request.scopes:
        raise UsageError("a trust rule never grants scope admin; scopes are "
                         f"{', '.join(RULE_SCOPES)}")
    if unknown := sorted(set(request.scopes) - set(RULE_SCOPES)):
        raise UsageError(f"unknown scope {', '.join(unknown)}; scopes are "
                         f"{', '.join(RULE_SCOPES)}")
    claims = {"repository_id": request.repository_id}
    claims |= {name: value for name, value in (("environment", request.environment),
                                               ("ref", request.ref)) if value is not None}
    return TrustRule(f"T-{secrets.token_hex(4)}", request.issuer, request.audience, claims,
                     request.scopes, request.user or f"oidc:{request.repository_id}", "",
                     clock.now())


def _shown(rule: TrustRule) -> dict[str, Any]:
    return {"rule_id": rule.rule_id, "issuer": rule.issuer, "audience": rule.audience,
            "claims": rule.claims, "scopes": list(rule.scopes), "user": rule.user,
            "created_by": rule.created_by, "created_at": rule.created_at.isoformat()}


def _claims(rule: TrustRule) -> str:
    return ", ".join(f"{name} {value}" for name, value in rule.claims.items())


def add(paths: ProjectPaths, request: NewRule, console: Console) -> int:
    """Add a trust rule (access control must be on: a token never switches it on)."""
    wanted = _checked(request)
    located = locate(paths.root)
    if isinstance(located, Path) and not os.path.lexists(located):
        raise PolicyRefusal(ACCESS_OFF)  # no control plane: none is made for a refusal
    with ControlPlane.of(paths, create=False) as store:
        maker = Gate(paths.root, store).require_owner("trust add", "manage trust rules")
        if maker is None:
            raise PolicyRefusal(ACCESS_OFF)
        for same in store.trust_rules(wanted.issuer):  # it would never be the one that matches
            if (same.audience, same.claims) == (wanted.audience, wanted.claims):
                raise FlexorError(f"trust rule {same.rule_id} has that issuer, audience and "
                                  f"claims already (remove it first: `flexor trust remove "
                                  f"{same.rule_id}`)")
        rule = TrustRule(wanted.rule_id, wanted.issuer, wanted.audience, wanted.claims,
                         wanted.scopes, wanted.user, maker, wanted.created_at)
        store.add_trust_rule(rule)
    console.document(_shown(rule))
    minutes = int(oidc.KEY_LIFETIME.total_seconds() // 60)
    console.line(f"Added trust rule {rule.rule_id}: a token of {rule.issuer} for audience "
                 f"{rule.audience} with {_claims(rule)} is exchanged for a {minutes}-minute key "
                 f"of {rule.user} with {', '.join(rule.scopes)}.")
    return ExitCode.OK


def list_rules(paths: ProjectPaths, console: Console) -> int:
    """Every trust rule: id, issuer, audience, claims, scopes, user, maker, date."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require_owner("trust list", "manage trust rules")
        rules = store.trust_rules()
    console.document([_shown(rule) for rule in rules])
    if not rules:
        console.line("No trust rules.")
        return ExitCode.OK
    table = [[r.rule_id, r.issuer, r.audience, _claims(r), " ".join(r.scopes), r.user,
              r.created_by, f"{r.created_at:%Y-%m-%d}"] for r in rules]
    console.line(tabulate(table, headers=("ID", "ISSUER", "AUDIENCE", "CLAIMS", "SCOPES", "USER",
                                          "BY", "CREATED"),
                          tablefmt="plain", disable_numparse=True))
    return ExitCode.OK


def remove(paths: ProjectPaths, rule_id: str, console: Console) -> int:
    """Remove a rule; the keys it minted that have not expired stop working at once."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require_owner("trust remove", "manage trust rules")
        revoked = store.remove_trust_rule(rule_id, clock.now())
    if revoked is None:
        raise FlexorError(f"no trust rule with id {rule_id} (see `flexor trust list`)")
    console.document({"rule_id": rule_id, "removed": True, "keys_revoked": revoked})
    console.line(f"Removed trust rule {rule_id}" + (
        f"; revoked {revoked} key{'s' if revoked != 1 else ''} it had made." if revoked
        else "."))
    return ExitCode.OK
