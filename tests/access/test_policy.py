"""The policy gate: which verbs need which scope where, one message for every bad key, roles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flexor_iac.access.keys import key_id_of
from flexor_iac.access.policy import VERB_SCOPES, Gate
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from tests.helpers.keys import issue_key

PRODUCTION = Environment.PRODUCTION
REFUSAL = r"refused: `flexor deploy` on production needs an API key with scope " \
          r"deploy:production \(FLEXOR_API_KEY\)"


@pytest.fixture
def store(project: Path) -> ControlPlane:
    return ControlPlane(locate(project))


def test_production_needs_a_key_by_default_and_other_environments_do_not(
        project: Path, store: ControlPlane) -> None:
    gate = Gate(project, store, token="")
    assert gate.require("deploy", Environment.STAGING) is None
    with pytest.raises(PolicyRefusal, match=REFUSAL):
        gate.require("deploy", PRODUCTION)
    stack = project / "Pulumi.staging.yaml"
    stack.write_text(stack.read_text() + "  flexor:requireApiKey: true\n")
    with pytest.raises(PolicyRefusal, match="on staging needs an API key with scope run:staging"):
        gate.require("run", Environment.STAGING)


def test_every_bad_key_gets_the_same_message_naming_only_the_scope(
        project: Path, store: ControlPlane) -> None:
    good = issue_key(store, "alice", "deploy:production")
    wrong_scope = issue_key(store, "bob", "deploy:staging", "read")
    expired = issue_key(store, "carol", "deploy:production",
                        expires_at=clock.now() - timedelta(minutes=1))
    revoked = issue_key(store, "dave", "deploy:production")
    store.revoke_key(key_id_of(revoked) or "", clock.now())
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for token in ("", "not-a-key", wrong_scope, expired, revoked, tampered):
        with pytest.raises(PolicyRefusal, match=REFUSAL) as refusal:
            Gate(project, store, token=token).require("deploy", PRODUCTION)
        assert token[-12:] not in str(refusal.value) or not token
    principal = Gate(project, store, token=good).require("deploy", PRODUCTION)
    assert principal is not None and principal.user == "alice"


def test_roles_are_per_vault(project: Path, store: ControlPlane) -> None:
    token = issue_key(store, "erin", "deploy:production", role="operator", vault="company")
    gate = Gate(project, store, token=token)
    principal = gate.require("deploy", PRODUCTION)
    assert principal is not None
    gate.require_deploy_roles(principal, ["company"], Environment.SANDBOX)
    with pytest.raises(PolicyRefusal, match=r"erin may not deploy to production \(role on "
                                            r"vault company: operator; needs admin\)"):
        gate.require_deploy_roles(principal, ["company"], PRODUCTION)
    with pytest.raises(PolicyRefusal, match="role on vault desk: none"):
        gate.require_deploy_roles(principal, ["desk"], Environment.SANDBOX)


def test_admin_verbs_are_open_until_the_first_key_exists(project: Path,
                                                        store: ControlPlane) -> None:
    assert Gate(project, store, token="").require("access grant") is None
    issue_key(store, "owner", "admin", role="owner")
    with pytest.raises(PolicyRefusal, match="`flexor access grant` needs an API key with "
                                            "scope admin"):
        Gate(project, store, token="").require("access grant")


def test_the_scope_table_is_the_documented_table() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "keys-and-roles.md")
    for verb, scope in VERB_SCOPES.items():
        assert f"| `flexor {verb}` | `{scope}` |" in guide.read_text(), verb


def test_reading_needs_a_key_only_once_access_control_is_on(project: Path,
                                                            store: ControlPlane) -> None:
    before = Gate(project, store, token="")
    assert before.require("status", PRODUCTION) is None
    assert before.require("deploy --dry-run", PRODUCTION) is None  # no key exists yet
    issue_key(store, "owner", "admin")
    with pytest.raises(PolicyRefusal, match="needs an API key with scope read"):
        Gate(project, store, token="").require("deploy --dry-run", PRODUCTION)


def test_an_admin_key_may_read(project: Path, store: ControlPlane) -> None:
    admin = issue_key(store, "owner", "admin")
    principal = Gate(project, store, token=admin).require("status", PRODUCTION)
    assert principal is not None and principal.user == "owner"


def test_a_key_for_a_user_without_roles_acts_with_its_makers_roles(
        project: Path, store: ControlPlane) -> None:
    owner = issue_key(store, "owner", "admin", "deploy:production")
    ci = issue_key(store, "ci", "deploy:production", role=None, acts_as="owner")
    gate = Gate(project, store, token=ci)
    principal = gate.require("deploy", PRODUCTION)
    assert principal is not None and (principal.user, principal.acts_as) == ("ci", "owner")
    gate.require_deploy_roles(principal, ["company"], PRODUCTION)  # the owner's role counts
    assert Gate(project, store, token=owner).require("deploy", PRODUCTION) is not None


def test_keys_without_a_recorded_protection_keep_the_default(project: Path,
                                                             store: ControlPlane) -> None:
    """A control plane whose keys predate recorded protection: the stack file alone still
    cannot lower production's."""
    ci = issue_key(store, "ci", "deploy:production")
    stack = project / "Pulumi.production.yaml"
    stack.write_text(stack.read_text() + "  flexor:requireApiKey: false\n")
    gate = Gate(project, store, token="")
    with pytest.raises(PolicyRefusal, match=REFUSAL):
        gate.require("deploy", PRODUCTION)
    with pytest.raises(PolicyRefusal, match="lowers production's recorded protection"):
        Gate(project, store, token=ci).authorize_deploy(PRODUCTION, [])


def test_on_a_team_server_every_environment_needs_a_key_with_its_scope(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ControlPlane(locate(project)) as store:
        gate = Gate(project, store)
        assert not gate.required(Environment.STAGING)  # by default only production
        monkeypatch.setenv("FLEXOR_REQUIRE_API_KEY", "1")  # the verbs a team server runs
        assert all(gate.required(env) for env in Environment)
