"""`flexor keys` and `flexor access`: bootstrap, secrets shown once, roles, revocation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main


def test_the_first_key_bootstraps_access_and_its_secret_is_shown_once(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert flexor_main(project, "keys", "create", "--name", "ci", "--user", "ci@fund.com",
                       "--scope", "deploy:production") == ExitCode.USAGE
    assert "the first key must have scope admin" in capsys.readouterr().err
    assert flexor_main(project, "keys", "create", "--name", "me", "--user", "alice@fund.com",
                       "--scope", "admin", "--expires", "90d") == ExitCode.OK
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "Access control is now on; alice@fund.com is owner of every vault."
    secret = out[2]
    assert secret.startswith("flx_") and len(secret) == 60
    # Now key management needs that owner's admin key.
    assert flexor_main(project, "keys", "list") == ExitCode.REFUSED
    assert "`flexor keys list` needs an API key with scope admin" in capsys.readouterr().err
    monkeypatch.setenv("FLEXOR_API_KEY", secret)
    assert flexor_main(project, "keys", "create", "--name", "ci", "--user", "ci@fund.com",
                       "--scope", "deploy:production", "--scope", "bogus") == ExitCode.USAGE
    assert flexor_main(project, "keys", "create", "--name", "ci", "--user", "ci@fund.com",
                       "--scope", "deploy:production", "--json") == ExitCode.OK
    ci = json.loads(capsys.readouterr().out)
    assert flexor_main(project, "keys", "list") == ExitCode.OK
    listing = capsys.readouterr().out
    assert "ci@fund.com" in listing and "active" in listing
    assert secret not in listing and ci["secret"] not in listing
    assert flexor_main(project, "keys", "revoke", ci["key_id"]) == ExitCode.OK
    assert flexor_main(project, "keys", "revoke", ci["key_id"]) == ExitCode.FAILED
    capsys.readouterr()
    assert flexor_main(project, "keys", "list", "--json") == ExitCode.OK
    states = {k["name"]: k["state"] for k in json.loads(capsys.readouterr().out)}
    assert states == {"me": "active", "ci": "revoked"}
    with ControlPlane(locate(project)) as store:  # every row of every table, on either store
        tables = [row[0] for row in store.database.execute(
            "SELECT name FROM sqlite_master WHERE type='table'" if store.dialect == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname='public'")]
        stored = repr([store.database.execute(f"SELECT * FROM {table}").rows
                       for table in tables])
    assert secret not in stored and ci["secret"] not in stored


def test_roles_are_granted_listed_and_revoked_by_an_owner(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert flexor_main(project, "keys", "create", "--name", "me", "--user", "olga",
                       "--scope", "admin", "--json") == ExitCode.OK
    owner = json.loads(capsys.readouterr().out)["secret"]
    assert flexor_main(project, "access", "grant", "--user", "bob", "--role", "viewer") == 3
    monkeypatch.setenv("FLEXOR_API_KEY", owner)
    assert flexor_main(project, "access", "grant", "--user", "alice", "--role", "operator",
                       "--vault", "company") == ExitCode.OK
    assert capsys.readouterr().out == "alice is now operator on vault company.\n"
    assert flexor_main(project, "access", "list", "--user", "alice", "--json") == ExitCode.OK
    [grant] = json.loads(capsys.readouterr().out)
    assert (grant["vault"], grant["role"], grant["granted_by"]) == ("company", "operator", "olga")
    assert flexor_main(project, "access", "revoke", "--user", "alice", "--vault", "company") == 0
    with ControlPlane(locate(project)) as store:
        assert [g.user for g in store.grants()] == ["olga"]


def test_a_grant_to_a_vault_the_project_lacks_or_to_a_mistyped_user_changes_nothing(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert flexor_main(project, "access", "grant", "--user", "alice@fund.com", "--role",
                       "viewer", "--vault", "company") == ExitCode.OK
    capsys.readouterr()
    refusals = {
        ("--user", "bob@fund.com", "--vault", "compnay"):
            "error: --vault: 'compnay' is not a vault of this project (did you mean company?)",
        ("--user", "bob@fund.com", "--vault", "treasury"):
            "error: --vault: 'treasury' is not a vault of this project (known: company)",
        ("--user", "alcie@fund.com", "--vault", "company"):
            "error: --user: 'alcie@fund.com' has no key or role yet; did you mean "
            "alice@fund.com? (add --new-user if alcie@fund.com is someone new)",
    }
    for args, said in refusals.items():
        assert flexor_main(project, "access", "grant", "--role", "operator", *args) == \
            ExitCode.USAGE
        assert capsys.readouterr().err == said + "\n"
    with ControlPlane(locate(project)) as store:
        assert [(g.user, g.vault) for g in store.grants()] == [("alice@fund.com", "company")]
    assert flexor_main(project, "access", "grant", "--role", "operator", "--user",
                       "alcie@fund.com", "--new-user") == ExitCode.OK  # someone new after all
    assert flexor_main(project, "access", "grant", "--role", "viewer", "--user",
                       "bob@fund.com", "--vault", "company") == ExitCode.OK  # nobody close


def test_syncing_an_l2_vault_needs_an_admin_of_it_once_access_control_is_on(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert flexor_main(project, "sync", "--vault", "company", "--dry-run") == ExitCode.OK  # open
    capsys.readouterr()
    assert flexor_main(project, "keys", "create", "--name", "me", "--user", "olga",
                       "--scope", "admin", "--json") == ExitCode.OK
    owner = json.loads(capsys.readouterr().out)["secret"]
    assert flexor_main(project, "sync", "--vault", "company") == ExitCode.REFUSED
    assert "syncing L2 vault company needs the API key (FLEXOR_API_KEY) of a user with the " \
           "admin role on it" in capsys.readouterr().err
    monkeypatch.setenv("FLEXOR_API_KEY", owner)
    assert flexor_main(project, "keys", "create", "--name", "v", "--user", "vic", "--scope", "read",
                       "--json") == ExitCode.OK
    viewer = json.loads(capsys.readouterr().out)["secret"]
    assert flexor_main(project, "access", "grant", "--user", "vic", "--role", "viewer",
                       "--vault", "company") == ExitCode.OK
    monkeypatch.setenv("FLEXOR_API_KEY", viewer)
    assert flexor_main(project, "sync", "--vault", "company") == ExitCode.REFUSED
    assert "user vic may not edit an L2 vault (role on vault company: viewer; needs admin)" \
        in capsys.readouterr().err
    monkeypatch.setenv("FLEXOR_API_KEY", owner)
    assert flexor_main(project, "sync", "--vault", "company") == ExitCode.OK


@pytest.mark.parametrize("expires", ["0h", "0d", "3000000d", "99999999999999999999999w"])
def test_a_key_lifetime_is_from_one_hour_to_a_hundred_years(
        expires: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert flexor_main(project, "keys", "create", "--name", "me", "--user", "alice@fund.com",
                       "--scope", "admin", "--expires", expires) == ExitCode.USAGE
    assert capsys.readouterr().err == (f"error: --expires {expires!r}: a duration must be from "
                                       "1h to 36500d (100 years)\n")
    assert not (project / ".flexor").exists()  # no key was made, no control plane either


def test_an_invalid_stack_file_refuses_the_first_key_whole(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Pulumi.staging.yaml").write_text("config:\n  flexor:bogus: 1\n")
    code = flexor_main(project, "keys", "create", "--name", "owner", "--user", "ops", "--scope",
                       "admin")
    assert code == ExitCode.FAILED
    assert "Pulumi.staging.yaml is invalid" in capsys.readouterr().err
    with ControlPlane(locate(project)) as store:
        assert not store.has_keys()  # access control did not go on with a secret never shown


def _key(project: Path, capsys: pytest.CaptureFixture[str], user: str, scope: str) -> str:
    assert flexor_main(project, "keys", "create", "--name", user, "--user", user, "--scope", scope,
                       "--json") == ExitCode.OK
    return str(json.loads(capsys.readouterr().out)["secret"])


def test_whose_roles_a_key_acts_with_is_decided_when_it_is_made(
        project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Revoking a user's last role never lets their keys act as the owner who made them, and
    an admin key made for a user without roles does not act as its maker either."""
    monkeypatch.setenv("FLEXOR_API_KEY", _key(project, capsys, "olga", "admin"))
    assert flexor_main(project, "access", "grant", "--user", "bob", "--role", "admin",
                       "--vault", "company") == ExitCode.OK
    capsys.readouterr()
    bob = _key(project, capsys, "bob", "read")
    eve = _key(project, capsys, "eve", "admin")
    assert flexor_main(project, "access", "revoke", "--user", "bob", "--vault", "company") == 0
    capsys.readouterr()
    monkeypatch.setenv("FLEXOR_API_KEY", bob)
    assert flexor_main(project, "sync", "--vault", "company") == ExitCode.REFUSED
    assert "user bob may not edit an L2 vault (role on vault company: none; needs admin)" \
        in capsys.readouterr().err
    monkeypatch.setenv("FLEXOR_API_KEY", eve)
    assert flexor_main(project, "keys", "create", "--name", "x", "--user", "x", "--scope",
                       "admin") == ExitCode.REFUSED
    assert "user eve may not manage API keys (role on vault *: none; needs owner)" \
        in capsys.readouterr().err
