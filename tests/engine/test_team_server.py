"""The team server end to end: a real PostgreSQL, a real `flexor serve` process holding the
database and the passphrase, the real engine on the server — and a client that holds only
FLEXOR_SERVER and a key (no database URL, no PULUMI_* variable, no `pulumi` on PATH)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.team_server import (
    FLEXOR,
    client,
    client_environment,
    clone,
    on_server,
    server_environment,
    team_server,
)
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine


def _admin_key(root: Path, database: str) -> str:
    """The first key, made where the database is: it turns access control on."""
    made = on_server(root, database, "keys", "create", "--name", "me", "--user", "me@fund.com",
                     "--scope", "admin", "--scope", "deploy:staging", "--scope",
                     "deploy:production", "--scope", "run:staging", "--secret-only")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _bump(root: Path, version: str) -> None:
    agent = root / "agents" / "feed-monitor.yaml"
    text = agent.read_text()
    start = text.index('version: "') + len('version: "')
    agent.write_text(text[:start] + version + text[text.index('"', start):])


def test_a_client_with_only_a_key_deploys_reads_runs_rolls_back_and_is_refused(
        project: Path, team_database: str, tmp_path: Path) -> None:
    admin = _admin_key(project, team_database)
    checkout = clone(project, tmp_path / "laptop")
    with team_server(project, team_database) as server:
        env = client_environment(server.address, admin)
        staging_only = _ok(client(checkout, env, "keys", "create", "--name", "ci", "--user",
                                  "ci@fund.com", "--scope", "deploy:staging", "--scope", "read",
                                  "--secret-only")).strip()  # keys are made through the server
        _ok(client(checkout, env, "sync", "--all"))
        assert "Deployed to staging: 3 create" in _ok(client(checkout, env, "deploy", "--env",
                                                             "staging", "--yes"))
        status = _ok(client(checkout, env, "status", "--env", "staging")).splitlines()
        assert status[0] == "Environment: staging" and status[3].endswith("(current)")
        assert '"name": "feed-monitor"' in _ok(client(checkout, env, "agents", "list", "--env",
                                                      "staging", "--json"))
        ran = client(checkout, env, "run", "feed-monitor", "--now", "--env", "staging")
        assert ran.returncode in (0, 1) and "feed-monitor" in ran.stdout, ran.stderr
        assert "feed-monitor" in _ok(client(checkout, env, "logs", "--agent", "feed-monitor",
                                            "--env", "staging"))
        production = _ok(client(checkout, env, "deploy", "--env", "production", "--yes"))
        assert "Deployed to production" in production

        _bump(checkout, "1.1")
        _ok(client(checkout, env, "deploy", "--env", "staging", "--yes"))
        _ok(client(checkout, env, "rollback", "--agent", "feed-monitor", "--env", "staging",
                   "--yes"))
        listed = json.loads(_ok(client(checkout, env, "agents", "list", "--env", "staging",
                                       "--json")))
        assert [a["version"] for a in listed["agents"] if a["name"] == "feed-monitor"] == ["1.0"]
        assert "1.1" in _ok(client(checkout, env, "history", "--env", "staging"))

        refused = client(checkout, client_environment(server.address, staging_only), "deploy",
                         "--env", "production", "--yes")
        assert refused.returncode == ExitCode.REFUSED, refused.stdout + refused.stderr
        assert "needs an API key with scope deploy:production" in refused.stderr
        reader = _ok(client(checkout, env, "keys", "create", "--name", "dash", "--user",
                            "dash@fund.com", "--scope", "read", "--secret-only")).strip()
        for verb in (("pause", "--agent", "feed-monitor"), ("plexifact", "load")):
            changed = client(checkout, client_environment(server.address, reader), *verb,
                             "--env", "staging")  # staging needs no key locally: here it does
            assert changed.returncode == ExitCode.REFUSED, changed.stdout + changed.stderr
        no_key = client(checkout, client_environment(server.address), "status", "--env",
                        "staging")
        assert (no_key.returncode, no_key.stderr) == (
            ExitCode.REFUSED, "error: refused: the team server needs an API key "
                              "(FLEXOR_API_KEY)\n")
        # the refused deploy changed nothing: production has its one deployment, at 1.0
        history = _ok(client(checkout, env, "history", "--env", "production"))
        assert history.count("deploy  succeeded") == 1 and "feed-monitor: 1.0;" in history


def test_a_plan_saved_on_the_server_applies_by_id_and_a_stale_one_is_refused(
        project: Path, team_database: str, tmp_path: Path) -> None:
    admin = _admin_key(project, team_database)
    with team_server(project, team_database) as server:
        # this checkout names its server in Pulumi.yaml (flexor:server), and the server's
        # copy of it does too: the server runs the verb itself, never sends it to itself
        for root in (project, checkout := clone(project, tmp_path / "ci")):
            pulumi_yaml = root / "Pulumi.yaml"
            pulumi_yaml.write_text(pulumi_yaml.read_text().replace(
                "config:\n", f"config:\n  flexor:server: {server.address}\n"))
        env = client_environment(server.address, admin)
        del env["FLEXOR_SERVER"]
        _ok(client(checkout, env, "sync", "--all"))
        saved = client(checkout, env, "deploy", "--env", "staging", "--plan-out", "plan.json")
        assert saved.returncode == 0, saved.stderr
        plan_id = json.loads((checkout / "plan.json").read_text())["plan_id"]
        assert f"Plan saved to {plan_id}" in saved.stderr  # the id, not a path on the server
        applied = client(checkout, env, "deploy", "--env", "staging", "--plan", plan_id, "--yes")
        assert "Deployed to staging: 3 create" in _ok(applied)

        _bump(checkout, "1.1")
        client(checkout, env, "deploy", "--env", "staging", "--plan-out", "next.json")
        _ok(client(checkout, env, "deploy", "--env", "staging", "--yes"))  # staging moved on
        stale = client(checkout, env, "deploy", "--env", "staging", "--plan", "next.json",
                       "--yes")
        assert stale.returncode == ExitCode.REFUSED, stale.stdout + stale.stderr


def test_a_server_killed_mid_update_leaves_a_deploy_another_server_converges(
        project: Path, team_database: str, tmp_path: Path) -> None:
    admin = _admin_key(project, team_database)
    checkout = clone(project, tmp_path / "ci")
    with team_server(project, team_database, log="a.log") as first, \
            team_server(project, team_database, log="b.log") as second:
        env = client_environment(first.address, admin)
        _ok(client(checkout, env, "sync", "--all"))
        deploying = subprocess.Popen([FLEXOR, "deploy", "--env", "staging", "--yes"],
                                     cwd=checkout, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     text=True)

        def holding() -> bool:
            assert deploying.poll() is None, deploying.communicate()[0]
            return "staging: held by" in _ok(on_server(project, team_database, "db", "status"))
        eventually(holding, "the deploy never took staging's lock", timeout=120, interval=0.1)
        first.kill()
        assert deploying.wait(timeout=60) != 0  # its server is gone mid-verb

        other = client_environment(second.address, admin)
        converged = _ok(client(checkout, other, "deploy", "--env", "staging", "--yes"))
        assert "Deployed to staging" in converged or "No changes" in converged
        assert "No changes" in _ok(client(checkout, other, "deploy", "--env", "staging",
                                          "--yes"))


def test_two_clients_deploying_one_environment_at_once_both_succeed_one_after_the_other(
        project: Path, team_database: str, tmp_path: Path) -> None:
    admin = _admin_key(project, team_database)
    first, second = clone(project, tmp_path / "a"), clone(project, tmp_path / "b")
    _bump(second, "1.1")
    with team_server(project, team_database) as server:
        env = client_environment(server.address, admin)
        _ok(client(first, env, "sync", "--all"))
        # Someone at a terminal where the database is holds staging at the prompt, so that
        # both clients arrive while it is taken.
        person, terminal = pty.openpty()
        holder = subprocess.Popen([FLEXOR, "deploy", "--env", "staging"], cwd=project,
                                  stdin=terminal, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=server_environment(
                                      team_database, FLEXOR_API_KEY=admin))
        logs = {name: (tmp_path / f"{name}.err") for name in ("a", "b")}
        clients: dict[str, subprocess.Popen[bytes]] = {}
        try:
            eventually(lambda: "staging: held by" in _ok(on_server(
                project, team_database, "db", "status")), "nobody took staging", timeout=120)
            for name, checkout in (("a", first), ("b", second)):
                with logs[name].open("wb") as err:
                    clients[name] = subprocess.Popen(
                        [FLEXOR, "deploy", "--env", "staging", "--yes"], cwd=checkout, env=env,
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
                eventually(lambda name=name: "waiting behind" in logs[name].read_text(),
                           f"{name} never said it waits", timeout=120)
            assert "position 2" in logs["b"].read_text()
            os.write(person, b"n\n")  # the person declines: nothing applied, the lock goes
            holder.wait(timeout=120)
            assert [clients[name].wait(timeout=600) for name in ("a", "b")] == [0, 0], \
                logs["a"].read_text() + logs["b"].read_text()
        finally:
            for process in (holder, *clients.values()):
                if process.poll() is None:
                    process.kill()
            os.close(person)
            os.close(terminal)
        listed = json.loads(_ok(client(first, env, "agents", "list", "--env", "staging",
                                       "--json")))
        assert [a["version"] for a in listed["agents"]] == ["1.1"]  # b's, applied last


def test_on_a_terminal_a_remote_deploy_shows_the_plan_asks_here_and_applies_exactly_it(
        project: Path, team_database: str, tmp_path: Path) -> None:
    admin = _admin_key(project, team_database)
    checkout = clone(project, tmp_path / "laptop")
    with team_server(project, team_database) as server:
        env = client_environment(server.address, admin)
        _ok(client(checkout, env, "sync", "--all"))
        person, terminal = pty.openpty()
        asked = subprocess.Popen([FLEXOR, "deploy", "--env", "staging"], cwd=checkout, env=env,
                                 stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            os.write(person, b"y\n")  # typed ahead: read when the question is asked
            out, err = asked.communicate(timeout=600)
        finally:
            os.close(person)
            os.close(terminal)
        assert asked.returncode == 0, out.decode() + err.decode()
        assert b"Deploy these changes to staging?" in err
        assert b"+ Agent feed-monitor" in out or b"feed-monitor" in out
        assert b"Deployed to staging: 3 create" in out
        assert "No changes" in _ok(client(checkout, env, "deploy", "--env", "staging", "--yes"))
