"""The team server's API in process (no verb runs: those start a process, see
tests/engine/test_team_server.py): keys, uploads by digest, refused requests, the OIDC
exchange and the OpenAPI description."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from flexor_iac.api.app import api_application
from flexor_iac.api.auth import MAX_FAILURES
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.controlplane.trust import TrustRule
from flexor_iac.core import clock
from flexor_iac.remote.protocol import digest_of
from tests.helpers.api_server import api_server
from tests.helpers.keys import issue_key
from tests.helpers.oidc import REPOSITORY_ID, issuing, new_key


@pytest.fixture
def keys(project: Path) -> dict[str, str]:
    with ControlPlane(locate(project)) as store:
        return {"admin": issue_key(store, "olga", "admin", role="owner"),
                "reader": issue_key(store, "rita", "read", role="viewer")}


@pytest.fixture
def api(project: Path, keys: dict[str, str], tmp_path: Path) -> Iterator[TestClient]:
    with api_server(project, tmp_path) as server, TestClient(api_application(server)) as client:
        yield client


def _as(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_every_call_but_version_needs_a_valid_key(api: TestClient, keys: dict[str, str]
                                                  ) -> None:
    assert api.get("/version").json()["api"] == 1
    missing = api.get("/whoami")
    assert (missing.status_code, missing.json()) == (
        401, {"error": "refused: the team server needs an API key (FLEXOR_API_KEY)"})
    forged = api.get("/whoami", headers=_as(keys["admin"][:-4] + "xxxx"))
    assert forged.status_code == 401 and "does not accept this API key" in forged.json()["error"]
    assert api.get("/whoami", headers=_as(keys["reader"])).json()["user"] == "rita"


def test_an_address_sending_wrong_keys_is_not_checked_again_for_a_minute(
        api: TestClient, keys: dict[str, str]) -> None:
    assert api.get("/whoami", headers=_as(keys["reader"])).status_code == 200  # checked once
    for attempt in range(MAX_FAILURES):
        wrong = api.get("/whoami", headers=_as(keys["admin"][:-4] + f"{attempt:04d}"))
        assert wrong.status_code == 401
    refused = api.get("/whoami", headers=_as(keys["admin"][:-4] + "next"))
    assert refused.status_code == 429 and "try again in a minute" in refused.json()["error"]
    assert api.get("/whoami", headers=_as(keys["admin"])).status_code == 429  # not checked
    assert api.get("/whoami", headers=_as(keys["reader"])).json()["user"] == "rita"  # known


def test_files_travel_once_by_digest_and_content_must_match_its_digest(
        api: TestClient, keys: dict[str, str]) -> None:
    content = b"name: feed-monitor\n"
    digest = digest_of(content)
    headers = _as(keys["reader"])
    assert api.post("/files/missing", json={"digests": [digest]},
                    headers=headers).json() == {"missing": [digest]}
    wrong = api.post("/files", json={"files": {digest: base64.b64encode(b"other").decode()}},
                     headers=headers)
    assert wrong.status_code == 400 and "does not have this digest" in wrong.json()["error"]
    stored = api.post("/files", json={"files": {digest: base64.b64encode(content).decode()}},
                      headers=headers)
    assert stored.json() == {"stored": 1}
    assert api.post("/files/missing", json={"digests": [digest]},
                    headers=headers).json() == {"missing": []}


def test_a_command_lacking_files_gets_409_and_paths_on_the_server_are_refused(
        api: TestClient, keys: dict[str, str]) -> None:
    headers = _as(keys["admin"])
    files = {"Pulumi.yaml": digest_of(b"name: flexor\n")}
    lacking = api.post("/commands", json={"argv": ["status", "--env", "staging"],
                                          "files": files}, headers=headers)
    assert lacking.status_code == 409 and lacking.json()["missing"] == list(files.values())
    for argv, said in ((["status", "--project-dir", "/etc"], "names a path on the server"),
                       (["db", "status"], "does not run `flexor db`"),
                       (["serve", "--env", "staging"], "does not run `flexor serve`"),
                       (["plexifact", "load", "/etc/passwd"], "reads a file")):
        refused = api.post("/commands", json={"argv": argv, "files": files}, headers=headers)
        assert refused.status_code == 400 and said in refused.json()["error"], argv
    outside = api.post("/commands", json={"argv": ["status"], "files": {"../x": files[
        "Pulumi.yaml"], **files}}, headers=headers)
    assert outside.status_code == 400 and "'../x'" in outside.json()["error"]


def test_an_oidc_token_a_rule_trusts_becomes_a_short_lived_key(
        project: Path, api: TestClient) -> None:
    signing: rsa.RSAPrivateKey = new_key()
    with issuing(signing) as issuer:
        with ControlPlane(locate(project)) as store:
            store.add_trust_rule(TrustRule("T-1", issuer.url, "flexor",
                                           {"repository_id": REPOSITORY_ID}, ("read",),
                                           f"oidc:{REPOSITORY_ID}", "olga", clock.now()))
        made = api.post("/oidc/exchange", json={"token": issuer.token()})
        assert made.status_code == 200, made.text
        assert api.get("/whoami", headers=_as(made.json()["key"])).json() == {
            "user": f"oidc:{REPOSITORY_ID}", "key_id": made.json()["key_id"],
            "scopes": ["read"]}
        refused = api.post("/oidc/exchange", json={"token": issuer.token(aud="other")})
        assert (refused.status_code, refused.json()) == (
            401, {"error": "refused: no trust rule matches this token"})


def test_a_body_past_its_limit_is_refused_before_any_key_is_checked(api: TestClient) -> None:
    huge = api.post("/commands", content=b"{" + b" " * (9 << 20) + b"}",
                    headers={"content-type": "application/json"})
    assert huge.status_code == 413 and "larger than" in huge.json()["error"]
    token = api.post("/oidc/exchange", json={"token": "x" * (2 << 20)})
    assert token.status_code == 413


def test_the_openapi_description_names_every_route(api: TestClient) -> None:
    paths = set(api.get("/openapi.json").json()["paths"])
    assert paths == {"/version", "/whoami", "/oidc/exchange", "/files/missing", "/files",
                     "/commands"}
