"""A CI job's OIDC token (GitHub Actions') exchanged for a short-lived API key, by trust rule.

The team server calls `exchange` with the token a job presents. The token is accepted when
its signature verifies with its issuer's published keys (RS256 or ES256; issuers.py), it has
not expired (`exp` required; `nbf` and `iat` not in the future, a minute's leeway, by
core.clock) and a trust rule (`flexor trust add`) has its issuer, its audience and every claim
the rule requires. The key minted for it is stored hashed like every key, carries the rule's
scopes for the rule's user, records `trust:<rule id>` as its maker and expires in 15 minutes.
A refusal is one line that never repeats the token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from flexor_iac.access import keys
from flexor_iac.access.issuers import (
    IssuerUnreachable,
    SigningKeys,
    address_problem,
    issuer_keys,
)
from flexor_iac.controlplane.access import StoredKey
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.controlplane.trust import TrustRule
from flexor_iac.core import clock
from flexor_iac.core.errors import PolicyRefusal

ALGORITHMS = ("RS256", "ES256")
KEY_LIFETIME = timedelta(minutes=15)
LEEWAY = timedelta(seconds=60)
MAX_TOKEN_CHARS = 16 * 1024
# The claims a rule may require: GitHub's repository id, deployment environment and git ref.
CLAIMS = ("repository_id", "environment", "ref")
NO_RULE = "refused: no trust rule matches this token"
NOT_A_TOKEN = "refused: the token is not a well-formed signed JWT"
EXPIRED = "refused: the token has expired"
NOT_YET = "refused: the token is not valid yet (its nbf or iat is in the future)"


@dataclass(frozen=True)
class Exchanged:
    """The key a token was exchanged for: its secret (shown once), id, expiry and grants."""

    secret: str
    key_id: str
    expires_at: datetime
    user: str
    scopes: list[str]
    rule_id: str


def exchange(store: ControlPlane, token: str, *,
             signing_keys: Callable[[str], SigningKeys] = issuer_keys) -> Exchanged:
    """A short-lived key for `token`, by the trust rule it satisfies; refuses (PolicyRefusal)
    otherwise. `signing_keys` gives an issuer's keys (default: its published JWKS)."""
    token = token.strip() if isinstance(token, str) else ""
    issuer = _unverified_issuer(token)
    rules = store.trust_rules(issuer) if issuer is not None else []
    if not rules:
        raise PolicyRefusal(NO_RULE)
    assert issuer is not None
    if address_problem(issuer) is not None:
        raise PolicyRefusal(f"refused: the issuer {issuer} is not https")
    claims = _verified(token, issuer, signing_keys(issuer))
    _check_times(claims)
    rule = matching(rules, claims)
    if rule is None:
        raise PolicyRefusal(NO_RULE)
    return _mint(store, rule, claims)


def _unverified_issuer(token: str) -> str | None:
    """The `iss` the token claims (unverified: it only says whose keys to verify it with)."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise PolicyRefusal(NOT_A_TOKEN)
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise PolicyRefusal(NOT_A_TOKEN) from None
    if algorithm not in ALGORITHMS:
        named = algorithm if isinstance(algorithm, str) and algorithm.isalnum() and \
            len(algorithm) <= 10 else "another algorithm"
        raise PolicyRefusal(f"refused: the token is signed with {named}; accepted: "
                            f"{', '.join(ALGORITHMS)}")
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def _verified(token: str, issuer: str, signing_keys: SigningKeys) -> dict[str, Any]:
    """The token's claims, once its signature verifies with one of the issuer's keys."""
    bad_signature = f"refused: the token's signature is not valid for {issuer}"
    try:
        key = signing_keys.get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:  # not a decision about the token
        raise IssuerUnreachable(f"cannot read the signing keys of {issuer}") from None
    except jwt.PyJWKClientError:  # no key of the issuer has the token's key id
        raise PolicyRefusal(bad_signature) from None
    except jwt.PyJWTError:
        raise PolicyRefusal(NOT_A_TOKEN) from None
    algorithm = key.algorithm_name
    if algorithm not in ALGORITHMS:
        raise PolicyRefusal(f"refused: {issuer}'s key is for {algorithm}; accepted: "
                            f"{', '.join(ALGORITHMS)}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=[algorithm], issuer=issuer,
            options={"require": ["exp", "iss"], "verify_exp": False, "verify_nbf": False,
                     "verify_iat": False, "verify_aud": False})
    except jwt.InvalidAlgorithmError:
        raise PolicyRefusal(f"refused: the token's algorithm is not that of {issuer}'s key "
                            f"({algorithm})") from None
    except jwt.MissingRequiredClaimError as missing:
        raise PolicyRefusal(f"refused: the token has no {missing.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise PolicyRefusal(bad_signature) from None
    except jwt.PyJWTError:
        raise PolicyRefusal(NOT_A_TOKEN) from None
    return claims


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(name)
        return float(value)
    except (TypeError, OverflowError):
        raise PolicyRefusal(f"refused: the token's {name} claim is not a time") from None


def _check_times(claims: Mapping[str, Any]) -> None:
    """`exp` passed: expired; `nbf` or `iat` ahead: not valid yet (a minute's leeway)."""
    now = clock.now().timestamp()
    leeway = LEEWAY.total_seconds()
    expires = _number(claims, "exp")
    if expires is None:
        raise PolicyRefusal("refused: the token has no exp claim")
    if expires <= now - leeway:
        raise PolicyRefusal(EXPIRED)
    for name in ("nbf", "iat"):
        moment = _number(claims, name)
        if moment is not None and moment > now + leeway:
            raise PolicyRefusal(NOT_YET)


def _text(value: Any) -> str | None:
    """A claim compared as text (GitHub sends ids as strings; a number counts as its digits)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _audiences(claims: Mapping[str, Any]) -> Sequence[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return [audience]
    if isinstance(audience, list):
        return [a for a in audience if isinstance(a, str)]
    return []


def satisfies(rule: TrustRule, claims: Mapping[str, Any]) -> bool:
    """Whether verified `claims` meet `rule`: its issuer, its audience, its every claim."""
    return (claims.get("iss") == rule.issuer and rule.audience in _audiences(claims)
            and all(_text(claims.get(name)) == value for name, value in rule.claims.items()))


def matching(rules: Sequence[TrustRule], claims: Mapping[str, Any]) -> TrustRule | None:
    """The rule a token is exchanged by: of those it meets, the one requiring the most claims
    (an `environment` rule before a repository-wide one), then the oldest."""
    met = [rule for rule in rules if satisfies(rule, claims)]
    met.sort(key=lambda rule: (-len(rule.claims), rule.created_at, rule.rule_id))
    return met[0] if met else None


def _label(claims: Mapping[str, Any]) -> str:
    """What the minted key is named after: the repository and run, when the token says."""
    parts = [f"{name} {text}" for name in ("repository", "run_id")
             if (text := _text(claims.get(name))) and len(text) <= 100 and text.isprintable()]
    return f" ({', '.join(parts)})" if parts else ""


def _mint(store: ControlPlane, rule: TrustRule, claims: Mapping[str, Any]) -> Exchanged:
    """A key of the rule's user with its scopes, for 15 minutes; like a key an owner makes
    for a user without roles (commands/keys.py), it acts with the roles of the rule's maker
    while its user has none, unless it carries admin (a rule never does)."""
    now = clock.now()
    key_id, secret = keys.new_key()
    expires = now + KEY_LIFETIME
    acts_as = rule.created_by if rule.created_by != rule.user and \
        not store.grants(rule.user) and "admin" not in rule.scopes else None
    store.add_key(StoredKey(key_id, f"oidc {rule.rule_id}{_label(claims)}", rule.user,
                            rule.scopes, keys.hash_key(secret), now, expires, None, rule.maker,
                            acts_as))
    return Exchanged(secret, key_id, expires, rule.user, list(rule.scopes), rule.rule_id)
