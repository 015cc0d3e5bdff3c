"""An OIDC issuer of the tests' own: RSA keys made here, its discovery document and JWKS served
on 127.0.0.1 (in a thread), and tokens signed as GitHub Actions would sign them."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from flexor_iac.core import clock
from tests.helpers.http_servers import serving

REPOSITORY_ID = "123456789"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    """The issuer at `url`, publishing the public half of `key` as `kid`."""

    url: str
    key: rsa.RSAPrivateKey
    kid: str = "key-1"
    requests: list[str] = field(default_factory=list)  # the paths asked for
    published_as: str | None = None  # the issuer its discovery document names (default: url)
    jwks_uri: str | None = None  # where it says its keys are (default: url/.well-known/jwks)

    def jwks(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A GitHub Actions token's claims (issued now, for 5 minutes), with `changes`
        (a value None removes the claim)."""
        now = int(clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.url, "aud": "flexor", "sub": "repo:octo/fund:environment:production",
            "repository": "octo/fund", "repository_id": REPOSITORY_ID, "environment":
            "production", "ref": "refs/heads/main", "run_id": "4242", "iat": now, "nbf": now,
            "exp": now + 300}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, key: rsa.RSAPrivateKey | None = None, kid: str | None = None,
              **changes: Any) -> str:
        """A token with `claims(**changes)`, signed RS256 with `key` (default: the issuer's)
        under `kid` (default: the published one)."""
        return jwt.encode(self.claims(**changes), key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        issuer: Issuer = self.server.issuer  # type: ignore[attr-defined]
        issuer.requests.append(self.path)
        documents = {"/.well-known/openid-configuration": {
            "issuer": issuer.published_as or issuer.url,
            "jwks_uri": issuer.jwks_uri or f"{issuer.url}/.well-known/jwks"},
            "/.well-known/jwks": issuer.jwks()}
        body = json.dumps(documents[self.path]).encode() if self.path in documents else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def issuing(key: rsa.RSAPrivateKey) -> Iterator[Issuer]:
    """An issuer on 127.0.0.1 (a new port each time: a new issuer to the process's caches)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    issuer = Issuer(f"http://127.0.0.1:{server.server_port}", key)
    server.issuer = issuer  # type: ignore[attr-defined]
    with serving(server):
        yield issuer
