"""A CI job without FLEXOR_API_KEY presents its OpenID Connect token instead: the team
server exchanges it for a short-lived key (`flexor trust`, access/oidc.py on the server).

The token is $FLEXOR_OIDC_TOKEN, else — on GitHub Actions, with `permissions: id-token:
write` — one asked from GitHub for the audience $FLEXOR_OIDC_AUDIENCE (default `flexor`)."""

from __future__ import annotations

import os
from dataclasses import replace

import httpx

from flexor_iac.core.errors import FlexorError, PolicyRefusal
from flexor_iac.remote.protocol import API_PREFIX
from flexor_iac.remote.settings import Remote

TOKEN_VARIABLE = "FLEXOR_OIDC_TOKEN"
AUDIENCE_VARIABLE = "FLEXOR_OIDC_AUDIENCE"
DEFAULT_AUDIENCE = "flexor"
_GITHUB = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


def job_token() -> str | None:
    """The job's OIDC token, if it has one to present."""
    if token := os.environ.get(TOKEN_VARIABLE, "").strip():
        return token
    url, bearer = (os.environ.get(name, "") for name in _GITHUB)
    if not (url and bearer):
        return None
    audience = os.environ.get(AUDIENCE_VARIABLE) or DEFAULT_AUDIENCE
    try:
        response = httpx.get(url, params={"audience": audience}, timeout=30,
                             headers={"authorization": f"bearer {bearer}"})
        response.raise_for_status()
        return str(response.json()["value"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise FlexorError(f"cannot get the job's OIDC token from GitHub Actions: {error}") \
            from None


def with_exchanged_key(server: Remote) -> Remote:
    """`server` with a key: its own, else one the server exchanged for the job's token."""
    if server.key or (token := job_token()) is None:
        return server
    try:
        response = httpx.post(f"{server.url}{API_PREFIX}/oidc/exchange", json={"token": token},
                              timeout=60, verify=server.verify)
    except httpx.HTTPError as error:
        raise FlexorError(f"cannot reach the team server {server.url}: {error}") from None
    try:
        found = response.json()
    except ValueError:
        found = {}
    if response.status_code == 401:
        raise PolicyRefusal(str(found.get("error") or "refused: the OIDC token"))
    if response.status_code != 200 or not isinstance(found.get("key"), str):
        raise FlexorError(f"the team server {server.url} did not exchange the OIDC token: "
                          f"{found.get('error') or response.status_code}")
    return replace(server, key=found["key"])
