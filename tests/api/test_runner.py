"""What a verb's process on the team server holds: the server's database and passphrase, the
client's key and user, the workspace as its project — and never the server as its server."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.api.runner import Invocation, child_environment


def test_the_verb_runs_here_with_the_clients_key_and_the_servers_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_SERVER", "https://team.example")
    monkeypatch.setenv("FLEXOR_API_KEY", "the-servers-own")
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", "/elsewhere.db")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "relative/passphrase")
    monkeypatch.chdir(tmp_path)
    env = child_environment(Invocation(["status"], tmp_path / "ws", "flx_client", "ci@fund.com",
                                       "postgresql://db/flexor"))
    assert env["FLEXOR_SERVER"] == "local"  # a Pulumi.yaml naming the server is not followed
    assert env["FLEXOR_REQUIRE_API_KEY"] == "1"  # the key decides on every environment
    assert env["PYTHONSAFEPATH"] == "1"  # the client's files never on the import path
    assert (env["FLEXOR_API_KEY"], env["FLEXOR_ACTOR"]) == ("flx_client", "ci@fund.com")
    assert env["FLEXOR_DATABASE_URL"] == "postgresql://db/flexor"
    assert env["FLEXOR_PROJECT_DIR"] == str(tmp_path / "ws")
    assert "FLEXOR_CONTROL_PLANE" not in env
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(tmp_path / "relative" / "passphrase")
