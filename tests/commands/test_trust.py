"""`flexor trust add|list|remove`: rules managed by an owner's admin key, and refused to
everyone else; removing a rule stops the keys it made."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flexor_iac.access import oidc
from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.oidc import REPOSITORY_ID, issuing, new_key

GITHUB = "https://token.actions.githubusercontent.com"
ADD = ("trust", "add", "--issuer", GITHUB, "--audience", "flexor", "--repository-id",
       REPOSITORY_ID, "--scope", "deploy:production")


def _key(project: Path, capsys: pytest.CaptureFixture[str], user: str, *scopes: str) -> str:
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    assert flexor_main(project, "keys", "create", "--name", user, "--user", user, *args,
                       "--json") == ExitCode.OK
    return str(json.loads(capsys.readouterr().out)["secret"])


def test_an_owner_adds_lists_and_removes_rules_with_json(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert flexor_main(project, *ADD) == ExitCode.REFUSED  # access control is off
    assert "a trust rule needs access control on" in capsys.readouterr().err
    assert not os.path.lexists(locate(project))  # a refusal made no control plane
    monkeypatch.setenv("FLEXOR_API_KEY", _key(project, capsys, "olga", "admin"))
    assert flexor_main(project, *ADD, "--environment", "production", "--scope", "read",
                       "--json") == ExitCode.OK
    added = json.loads(capsys.readouterr().out)
    assert added["rule_id"].startswith("T-") and added["user"] == f"oidc:{REPOSITORY_ID}"
    assert (added["issuer"], added["audience"], added["created_by"]) == (GITHUB, "flexor", "olga")
    assert added["claims"] == {"repository_id": REPOSITORY_ID, "environment": "production"}
    assert added["scopes"] == ["deploy:production", "read"]
    assert flexor_main(project, *ADD, "--environment", "production") == ExitCode.FAILED
    assert f"trust rule {added['rule_id']} has that issuer, audience and claims already" in \
        capsys.readouterr().err
    assert flexor_main(project, *ADD, "--ref", "refs/heads/main", "--user", "ci") == ExitCode.OK
    said = capsys.readouterr().out
    assert f"with repository_id {REPOSITORY_ID}, ref refs/heads/main" in said
    assert "15-minute key of ci with deploy:production." in said
    assert flexor_main(project, "trust", "list") == ExitCode.OK
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["ID", "ISSUER", "AUDIENCE", "CLAIMS", "SCOPES", "USER", "BY",
                                  "CREATED"]
    assert len(listing) == 3 and added["rule_id"] in listing[1]
    assert flexor_main(project, "trust", "remove", added["rule_id"], "--json") == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == {
        "rule_id": added["rule_id"], "removed": True, "keys_revoked": 0}
    assert flexor_main(project, "trust", "remove", added["rule_id"]) == ExitCode.FAILED
    assert "no trust rule with id" in capsys.readouterr().err
    assert flexor_main(project, "trust", "list", "--json") == ExitCode.OK
    assert [r["user"] for r in json.loads(capsys.readouterr().out)] == ["ci"]


@pytest.mark.parametrize(("change", "message"), [
    (("--scope", "admin"), "a trust rule never grants scope admin"),
    (("--scope", "deploy:moon"), "unknown scope deploy:moon"),
    (("--issuer", "http://issuer.example"), "is plain http"),
    (("--repository-id", "octo/fund"), "is not a number: GitHub's numeric repository id"),
    (("--audience", " "), "--audience must not be empty"),
])
def test_a_rule_that_is_not_valid_is_a_usage_error(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        change: tuple[str, str], message: str) -> None:
    monkeypatch.setenv("FLEXOR_API_KEY", _key(project, capsys, "olga", "admin"))
    assert flexor_main(project, *ADD, *change) == ExitCode.USAGE
    assert message in capsys.readouterr().err
    with ControlPlane(locate(project)) as store:
        assert store.trust_rules() == []


def test_only_an_owners_admin_key_manages_rules(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    owner = _key(project, capsys, "olga", "admin")
    monkeypatch.setenv("FLEXOR_API_KEY", owner)
    reader = _key(project, capsys, "rita", "read", "deploy:production")
    admin = _key(project, capsys, "adam", "admin")  # admin scope, but no owner role
    assert flexor_main(project, *ADD, "--json") == ExitCode.OK
    rule_id = json.loads(capsys.readouterr().out)["rule_id"]
    for key, refusal in ((reader, "needs an API key with scope admin"),
                         (admin, "user adam may not manage trust rules"), ("", "scope admin")):
        monkeypatch.setenv("FLEXOR_API_KEY", key)
        for verb in (ADD, ("trust", "list"), ("trust", "remove", rule_id)):
            assert flexor_main(project, *verb) == ExitCode.REFUSED, (key, verb)
            assert refusal in capsys.readouterr().err
    with ControlPlane(locate(project)) as store:
        assert [r.rule_id for r in store.trust_rules()] == [rule_id]


def test_removing_a_rule_stops_the_keys_it_made(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_API_KEY", _key(project, capsys, "olga", "admin"))
    with issuing(new_key()) as issuer:
        assert flexor_main(project, "trust", "add", "--issuer", issuer.url, "--audience",
                           "flexor", "--repository-id", REPOSITORY_ID, "--scope", "read",
                           "--json") == ExitCode.OK
        rule_id = json.loads(capsys.readouterr().out)["rule_id"]
        with ControlPlane(locate(project)) as store:
            exchanged = oidc.exchange(store, issuer.token())
            assert Gate(project, store, exchanged.secret).principal() is not None
    assert flexor_main(project, "keys", "list", "--json") == ExitCode.OK
    made = [k for k in json.loads(capsys.readouterr().out) if k["key_id"] == exchanged.key_id]
    assert [(k["user"], k["scopes"], k["state"]) for k in made] == [
        (f"oidc:{REPOSITORY_ID}", ["read"], "active")]
    assert flexor_main(project, "trust", "remove", rule_id) == ExitCode.OK
    assert capsys.readouterr().out == f"Removed trust rule {rule_id}; revoked 1 key it had made.\n"
    with ControlPlane(locate(project)) as store:
        assert Gate(project, store, exchanged.secret).principal() is None
