"""OIDC issuers: which addresses may be one, and each issuer's signing keys (its JWKS, found
through `<issuer>/.well-known/openid-configuration`), fetched with PyJWT's `PyJWKClient` and
kept per issuer while the process runs (the client caches the key set and fetches it again for
a key id it has not seen, when the issuer rotated its keys; at most once per
KEY_REFETCH_SECONDS, so tokens naming made-up key ids cannot make the server fetch again and
again)."""

from __future__ import annotations

import ipaddress
import threading
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from jwt import PyJWK, PyJWKClient

from flexor_iac.core.errors import FlexorError

TIMEOUT_SECONDS = 10.0
KEY_SET_LIFESPAN_SECONDS = 300.0  # how long a fetched key set is used before it is fetched again
KEY_REFETCH_SECONDS = 30.0  # at least this long between two fetches for an unknown key id
_MAX_DOCUMENT_BYTES = 1 << 20
_LOOPBACK_NAMES = ("localhost",)


class IssuerUnreachable(FlexorError):
    """An issuer's OpenID configuration or key set could not be read (not a refusal: no
    decision about the token was made)."""


class SigningKeys(Protocol):
    """What the exchange needs of an issuer: the key that signed a token (PyJWKClient)."""

    def get_signing_key_from_jwt(self, token: str) -> PyJWK:
        """The issuer's key named by the token's `kid` (PyJWKClientError: none)."""
        ...


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_problem(url: str) -> str | None:
    """Why `url` may not be an issuer (or its key set's address), or None: it must be https
    with a host and no credentials, query or fragment; plain http only on a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (a port out of range raises here)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return "is not an https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "carries credentials"
    if parts.query or parts.fragment:
        return "has a query or fragment"
    if parts.scheme == "http" and not _loopback(host):
        return "is plain http: an issuer must be https (plain http only on 127.0.0.1)"
    return None


def discover(issuer: str) -> str:
    """The issuer's `jwks_uri`, from its OpenID configuration (which must name it as issuer)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as error:
        raise IssuerUnreachable(f"cannot read the OpenID configuration of {issuer}: "
                                f"{type(error).__name__}") from None
    if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT_BYTES:
        raise IssuerUnreachable(f"cannot read the OpenID configuration of {issuer}: HTTP "
                                f"{response.status_code}")
    try:
        document = response.json()
    except ValueError:
        document = None
    jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
    if not isinstance(jwks_uri, str):
        raise IssuerUnreachable(f"the OpenID configuration of {issuer} names no jwks_uri")
    if document.get("issuer") != issuer:
        raise IssuerUnreachable(f"the OpenID configuration at {url} is not that of {issuer} "
                                "(its issuer differs)")
    if (problem := address_problem(jwks_uri)) is not None:
        raise IssuerUnreachable(f"the jwks_uri of {issuer} {problem}")
    return jwks_uri


_CLIENTS: dict[str, PyJWKClient] = {}
_LOCK = threading.Lock()


def issuer_keys(issuer: str) -> SigningKeys:
    """The issuer's signing keys: one PyJWKClient per issuer for the process's life (found
    by discovery the first time; a failed discovery is tried again next time)."""
    with _LOCK:
        client = _CLIENTS.get(issuer)
    if client is None:
        client = PyJWKClient(discover(issuer), lifespan=KEY_SET_LIFESPAN_SECONDS,
                             timeout=TIMEOUT_SECONDS, cooldown_duration=KEY_REFETCH_SECONDS)
        with _LOCK:
            client = _CLIENTS.setdefault(issuer, client)
    return client


def forget() -> None:
    """Drop every issuer's client (their keys are discovered and fetched again)."""
    with _LOCK:
        _CLIENTS.clear()
