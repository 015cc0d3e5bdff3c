"""The team server end to end: a real PostgreSQL, a real `flexor serve` process holding the
database and the passphrase, the real engine on the server — and a client that holds only
FLEXOR_SERVER and a key (no database URL, no PULUMI_* variable, no `pulumi` on PATH)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.team_server import client, client_environment, clone, on_server, team_server

pytestmark = pytest.mark.engine


def _key(root: Path, database: str, *scopes: str, user: str = "me@fund.com") -> str:
    args = [part for scope in scopes for part in ("--scope", scope)]
    made = on_server(root, database, "keys", "create", "--name", user.split("@")[0], "--user",
                     user, *args, "--secret-only")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_a_client_with_only_a_key_deploys_reads_runs_and_is_refused_without_scope(
        project: Path, team_database: str, tmp_path: Path) -> None:
    admin = _key(project, team_database, "admin", "deploy:staging", "deploy:production",
                 "run:staging", "read")
    checkout = clone(project, tmp_path / "laptop")
    with team_server(project, team_database) as address:
        env = client_environment(address, admin)
        made = client(checkout, env, "keys", "create", "--name", "ci", "--user", "ci@fund.com",
                      "--scope", "deploy:staging", "--scope", "read", "--secret-only")
        assert made.returncode == 0, made.stderr  # keys are made through the server
        staging_only = made.stdout.strip()
        synced = client(checkout, env, "sync", "--all")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        deployed = client(checkout, env, "deploy", "--env", "staging", "--yes")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "Deployed to staging: 3 create" in deployed.stdout
        status = client(checkout, env, "status", "--env", "staging")
        assert status.returncode == 0, status.stderr
        assert status.stdout.splitlines()[0] == "Environment: staging"
        assert "Vault sync: " in status.stdout and "(current)" in status.stdout
        listed = client(checkout, env, "agents", "list", "--env", "staging", "--json")
        assert '"name": "feed-monitor"' in listed.stdout, listed.stderr

        ran = client(checkout, env, "run", "feed-monitor", "--now", "--env", "staging")
        assert ran.returncode in (0, 1), ran.stderr  # the run's own outcome
        logs = client(checkout, env, "logs", "--agent", "feed-monitor", "--env", "staging")
        assert logs.returncode == 0 and "feed-monitor" in logs.stdout, logs.stderr

        refused = client(checkout, client_environment(address, staging_only), "deploy",
                         "--env", "production", "--yes")
        assert refused.returncode == ExitCode.REFUSED, refused.stdout + refused.stderr
        assert "needs an API key with scope deploy:production" in refused.stderr
        no_key = client(checkout, client_environment(address), "status", "--env", "staging")
        assert no_key.returncode == ExitCode.REFUSED
        assert no_key.stderr.strip() == ("error: refused: the team server needs an API key "
                                         "(FLEXOR_API_KEY)")
        history = client(checkout, env, "history", "--env", "production")
        assert "No deployments" in history.stdout or history.stdout.strip() == "" \
            or "production" in history.stdout, history.stdout + history.stderr
