"""A CI job's OIDC token exchanged for a short-lived key: tokens signed with the tests' own RSA
key, the issuer's discovery document and JWKS served on 127.0.0.1."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from flexor_iac.access import oidc
from flexor_iac.access.issuers import IssuerUnreachable, SigningKeys, address_problem
from flexor_iac.access.keys import key_id_of
from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.controlplane.trust import TrustRule
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import PolicyRefusal
from tests.helpers.keys import issue_key
from tests.helpers.oidc import REPOSITORY_ID, Issuer, issuing, new_key

PRODUCTION = Environment.PRODUCTION


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def issuer(signing_key: rsa.RSAPrivateKey) -> Iterator[Issuer]:
    with issuing(signing_key) as started:
        yield started


@pytest.fixture
def store(project: Path) -> Iterator[ControlPlane]:
    with ControlPlane(locate(project)) as opened:
        issue_key(opened, "olga", "admin", role="owner")  # access control is on
        yield opened


def _rule(store: ControlPlane, issuer: str, rule_id: str = "T-1", *scopes: str,
          **claims: str) -> TrustRule:
    rule = TrustRule(rule_id, issuer, "flexor", {"repository_id": REPOSITORY_ID, **claims},
                     scopes or ("deploy:production", "read"), f"oidc:{REPOSITORY_ID}", "olga",
                     clock.now())
    store.add_trust_rule(rule)
    return rule


def test_a_good_token_gets_a_key_the_gate_accepts_with_the_rules_scopes_until_it_expires(
        project: Path, store: ControlPlane, issuer: Issuer) -> None:
    rule = _rule(store, issuer.url, environment="production")
    exchanged = oidc.exchange(store, issuer.token() + "\n")  # as `curl` output would end
    assert key_id_of(exchanged.secret) == exchanged.key_id
    assert (exchanged.user, exchanged.scopes, exchanged.rule_id) == (
        f"oidc:{REPOSITORY_ID}", ["deploy:production", "read"], "T-1")
    assert timedelta(minutes=14) < exchanged.expires_at - clock.now() <= timedelta(minutes=15)
    stored = store.key(exchanged.key_id)
    assert stored is not None and stored.created_by == rule.maker == "trust:T-1"
    assert stored.name == "oidc T-1 (repository octo/fund, run_id 4242)"
    assert exchanged.secret not in repr(stored)  # only its hash is kept
    gate = Gate(project, store, token=exchanged.secret)
    principal = gate.require("deploy", PRODUCTION)
    assert principal is not None and principal.user == f"oidc:{REPOSITORY_ID}"
    assert principal.scopes == {"deploy:production", "read"}
    assert principal.acts_as == "olga"  # no role of its own: the rule's maker's roles
    gate.require_deploy_roles(principal, ["company"], PRODUCTION)
    with pytest.raises(PolicyRefusal, match="needs an API key with scope run:production"):
        gate.require("run", PRODUCTION)
    with clock.frozen(exchanged.expires_at), \
            pytest.raises(PolicyRefusal, match="needs an API key with scope deploy:production"):
        Gate(project, store, token=exchanged.secret).require("deploy", PRODUCTION)
    # The discovery document was read once; a second exchange uses the cached key set.
    oidc.exchange(store, issuer.token())
    assert issuer.requests == ["/.well-known/openid-configuration", "/.well-known/jwks"]


def test_tokens_naming_made_up_key_ids_do_not_make_the_server_fetch_keys_again(
        store: ControlPlane, issuer: Issuer, other_key: rsa.RSAPrivateKey) -> None:
    _rule(store, issuer.url)
    oidc.exchange(store, issuer.token())  # the key set fetched once
    for attempt in range(5):
        with pytest.raises(PolicyRefusal, match="signature is not valid"):
            oidc.exchange(store, issuer.token(key=other_key, kid=f"made-up-{attempt}"))
    assert issuer.requests == ["/.well-known/openid-configuration", "/.well-known/jwks"]


def _refusals(issuer: Issuer, other: rsa.RSAPrivateKey) -> dict[str, tuple[str, str]]:
    """Each token that must be refused, with the refusal's line."""
    now = int(clock.now().timestamp())
    bad_signature = f"refused: the token's signature is not valid for {issuer.url}"
    return {
        "wrong audience": (issuer.token(aud="someone-else"), oidc.NO_RULE),
        "wrong repository_id": (issuer.token(repository_id="987654321"), oidc.NO_RULE),
        "wrong environment": (issuer.token(environment="staging"), oidc.NO_RULE),
        "no environment": (issuer.token(environment=None), oidc.NO_RULE),
        "unknown issuer": (issuer.token(iss="https://issuer.example"), oidc.NO_RULE),
        "expired": (issuer.token(iat=now - 600, nbf=now - 600, exp=now - 120), oidc.EXPIRED),
        "not valid yet": (issuer.token(nbf=now + 600, exp=now + 900), oidc.NOT_YET),
        "issued in the future": (issuer.token(iat=now + 600), oidc.NOT_YET),
        "no exp": (issuer.token(exp=None), "refused: the token has no exp claim"),
        "an exp that is no time": (issuer.token(exp=10**400),
                                   "refused: the token's exp claim is not a time"),
        "another key, same kid": (issuer.token(key=other), bad_signature),
        "an unknown kid": (issuer.token(key=other, kid="key-2"), bad_signature),
        "tampered claims": (_tampered(issuer.token(repository_id="1"), issuer.token()),
                            bad_signature),
        "unsigned": (jwt.encode(issuer.claims(), "", algorithm="none",
                                headers={"kid": issuer.kid}),
                     "refused: the token is signed with none; accepted: RS256, ES256"),
        "not a token": ("flx_0123456789ab_" + "A" * 43, oidc.NOT_A_TOKEN),
    }


def _tampered(token: str, genuine: str) -> str:
    """`token`'s claims under `genuine`'s signature."""
    return ".".join([*token.split(".")[:2], genuine.split(".")[2]])


def test_tokens_that_do_not_verify_or_match_are_refused_and_get_no_key(
        store: ControlPlane, issuer: Issuer, other_key: rsa.RSAPrivateKey) -> None:
    _rule(store, issuer.url, environment="production")
    before = store.keys()
    for case, (token, line) in _refusals(issuer, other_key).items():
        with pytest.raises(PolicyRefusal) as refused:
            oidc.exchange(store, token)
        assert str(refused.value) == line, case
        assert refused.value.exit_code == ExitCode.REFUSED
        signature = token.split(".")[-1]
        assert token not in str(refused.value)
        assert not signature or signature not in str(refused.value)
    assert store.keys() == before


def test_the_rule_requiring_most_claims_wins_and_a_ref_must_match(
        store: ControlPlane, issuer: Issuer) -> None:
    _rule(store, issuer.url, "T-repo", "read")
    _rule(store, issuer.url, "T-env", "deploy:production", environment="production")
    assert oidc.exchange(store, issuer.token()).rule_id == "T-env"
    assert oidc.exchange(store, issuer.token(environment="staging")).scopes == ["read"]
    _rule(store, issuer.url, "T-main", "deploy:staging", ref="refs/heads/main")
    assert oidc.exchange(store, issuer.token(environment=None)).rule_id == "T-main"
    assert oidc.exchange(store, issuer.token(environment=None, ref="refs/heads/x")).rule_id \
        == "T-repo"


class _Keys:
    """An issuer's keys without the network (exchange's `signing_keys` hook)."""

    def __init__(self, key: Any, algorithm: str) -> None:
        self.key = jwt.PyJWK.from_dict({**jwt.get_algorithm_by_name(algorithm).to_jwk(
            key.public_key(), as_dict=True), "alg": algorithm, "kid": "k"})

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        return self.key


def test_es256_is_accepted_and_hs256_or_a_mismatched_algorithm_is_not(store: ControlPlane) -> None:
    _rule(store, "https://token.actions.githubusercontent.com")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    now = int(clock.now().timestamp())
    claims = {"iss": "https://token.actions.githubusercontent.com", "aud": ["other", "flexor"],
              "repository_id": int(REPOSITORY_ID), "iat": now, "exp": now + 60}
    keys: SigningKeys = _Keys(ec_key, "ES256")
    token = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "k"})
    exchanged = oidc.exchange(store, token, signing_keys=lambda _issuer: keys)
    assert exchanged.rule_id == "T-1"  # a numeric claim counts as its digits; aud a list
    forged = jwt.encode(claims, "a shared secret " * 3, algorithm="HS256", headers={"kid": "k"})
    with pytest.raises(PolicyRefusal, match="signed with HS256; accepted: RS256, ES256"):
        oidc.exchange(store, forged, signing_keys=lambda _issuer: keys)
    rsa_keys: SigningKeys = _Keys(new_key(), "RS256")  # the issuer's key is RSA, not EC
    with pytest.raises(PolicyRefusal, match=r"algorithm is not that of .*'s key \(RS256\)"):
        oidc.exchange(store, token, signing_keys=lambda _issuer: rsa_keys)


def test_plain_http_issuers_are_refused_except_on_loopback(store: ControlPlane) -> None:
    assert address_problem("http://127.0.0.1:8080") is None
    assert address_problem("https://token.actions.githubusercontent.com") is None
    for url in ("http://issuer.example", "ftp://issuer.example", "https://u:p@issuer.example",
                "https://issuer.example/?q=1", "https://"):
        assert address_problem(url) is not None, url
    _rule(store, "http://issuer.example")
    now = int(clock.now().timestamp())
    token = jwt.encode({"iss": "http://issuer.example", "exp": now + 60}, new_key(),
                       algorithm="RS256")
    with pytest.raises(PolicyRefusal, match=r"the issuer http://issuer\.example is not https"):
        oidc.exchange(store, token)


def test_an_issuer_that_cannot_be_reached_is_an_error_not_a_refusal(
        store: ControlPlane, signing_key: rsa.RSAPrivateKey) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    _rule(store, url)
    token = Issuer(url, signing_key).token()
    expected = re.escape(f"cannot read the OpenID configuration of {url}")
    with pytest.raises(IssuerUnreachable, match=expected) as failed:
        oidc.exchange(store, token)
    assert failed.value.exit_code == ExitCode.FAILED


def test_a_discovery_document_of_another_issuer_or_with_a_plain_http_jwks_uri_is_not_used(
        store: ControlPlane, issuer: Issuer) -> None:
    _rule(store, issuer.url)
    issuer.published_as = "https://token.actions.githubusercontent.com"
    with pytest.raises(IssuerUnreachable, match=r"is not that of .* \(its issuer differs\)"):
        oidc.exchange(store, issuer.token())
    issuer.published_as, issuer.jwks_uri = None, "http://keys.example/jwks"
    with pytest.raises(IssuerUnreachable, match=r"jwks_uri of .* is plain http"):
        oidc.exchange(store, issuer.token())
    issuer.jwks_uri = None  # a failed discovery is tried again: now it succeeds
    assert oidc.exchange(store, issuer.token()).rule_id == "T-1"
