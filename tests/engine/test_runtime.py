"""The runtime end to end on the real engine: deploy staging, load demo data, run, observe.

The vendor's smoke test (`flexor run feed-monitor --now --env staging`), an agent that always
fails, and the secret that must never be written anywhere.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from http.server import HTTPServer
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.core.moments import utc
from tests.helpers.cli import flexor
from tests.helpers.project import allow_loopback, write_agent, write_skill

pytestmark = pytest.mark.engine

SECRET = "xoxb-SECRET-0042"


def _ok(project: Path, *args: str) -> str:
    done = flexor(project, *args)
    assert done.returncode == ExitCode.OK, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def _feeds(project: Path, age_minutes: int) -> None:
    data = project / "feeds.yaml"
    data.write_text(f"feeds:\n  - {{name: equity-prices, age_minutes: {age_minutes}}}\n")
    _ok(project, "plexifact", "load", "--env", "staging", str(data))


def _status_lines(project: Path) -> list[str]:
    """The lines `status` must print, built from its own --json values."""
    doc = json.loads(_ok(project, "status", "--env", "staging", "--json"))
    agents = doc["agents"]
    sync = utc(datetime.fromisoformat(doc["vault_sync"])) + f" ({doc['vault_sync_state']})"
    return ["Environment: staging",
            f"Agents: {agents['active']} active, {agents['paused']} paused, "
            f"{agents['erroring']} erroring" + (
                f", {agents['unserved']} not served (no `flexor serve --env staging` running)"
                if agents["unserved"] else ""),
            f"Last deployment: {utc(datetime.fromisoformat(doc['last_deployment']))}",
            f"Vault sync: {sync}",
            f"PlexiFact connection: {doc['plexifact_connection']}",
            "Last run: " + ("never" if doc["last_run"] is None else
                            f"{doc['last_run']['agent']} {doc['last_run']['version']}: "
                            f"{doc['last_run']['status']}, "
                            f"{utc(datetime.fromisoformat(doc['last_run']['trigger_at']))}")]


@pytest.fixture
def staging(project: Path, hooks: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Staging deployed with feed-monitor and an agent whose skill always fails."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"{hooks.url}/services/{SECRET}")  # type: ignore[attr-defined]
    write_skill(project, "always-fails", "steps:\n  - action: plexifact.catalog.get_feed_metadata"
                "\n    args: {feed: no-such-feed}\n")
    write_agent(project, "doomed", "  - skill: always-fails\n",
                retry="retry:\n  max_attempts: 3\n  backoff_seconds: 0.1\n"
                      "  on_final_failure: notify_ops\n")
    allow_loopback(project)  # the hooks server is on 127.0.0.1, refused unless allowed
    _ok(project, "sync", "--vault", "company")
    _ok(project, "deploy", "--env", "staging", "--yes")
    return project


def test_the_runtime_on_a_deployed_staging(staging: Path, hooks: HTTPServer) -> None:
    project = staging
    status = _ok(project, "status", "--env", "staging").splitlines()
    assert status[1:] == _status_lines(project)[1:] and status[0] == "Environment: staging"
    # feed-monitor's schedule fires only under `flexor serve`: not active while none runs
    assert status[1] == ("Agents: 1 active, 0 paused, 0 erroring, 1 not served "
                         "(no `flexor serve --env staging` running)")
    assert status[4].startswith("PlexiFact connection: unreachable (plexifact://staging/catalog "
                                "has no data")

    # The vendor's smoke test: a fresh feed sends nothing, a stale one sends one message.
    _feeds(project, 4)
    _ok(project, "run", "feed-monitor", "--now", "--env", "staging")
    assert hooks.posts == []  # type: ignore[attr-defined]
    _feeds(project, 52)
    _ok(project, "run", "feed-monitor", "--now", "--env", "staging")
    [(path, body)] = hooks.posts  # type: ignore[attr-defined]
    assert body == {"channel": "#data-ops", "text": "equity-prices is 52 min stale."}

    # A skill that always fails: 3 attempts, failed, erroring, in `logs --status error`,
    # and one ops notification.
    done = flexor(project, "run", "doomed", "--now", "--env", "staging")
    assert done.returncode == ExitCode.FAILED
    assert ": doomed 1.0 in staging: failed (3 attempt(s)," in done.stdout
    assert len(hooks.posts) == 2  # type: ignore[attr-defined]
    assert "agent doomed 1.0 failed in staging after 3 attempt(s)" in hooks.posts[1][1]["text"]  # type: ignore[attr-defined]
    assert _ok(project, "status", "--env", "staging").splitlines() == _status_lines(project)
    assert _status_lines(project)[1] == ("Agents: 0 active, 0 paused, 1 erroring, 1 not served "
                                         "(no `flexor serve --env staging` running)")
    assert _status_lines(project)[4] == "PlexiFact connection: healthy"
    assert _status_lines(project)[5].startswith("Last run: doomed 1.0: failed, 20")
    errors = _ok(project, "logs", "--agent", "doomed", "--env", "staging", "--status", "error")
    assert errors.count("== ") == 1 and "attempt 3/3" in errors
    roster = _ok(project, "agents", "list", "--env", "staging").splitlines()
    assert roster[1].split()[:5] == ["doomed", "manual", "staging", "erroring", "1.0"]
    assert roster[1].endswith("UTC (failed)")

    # The secret was used (the posts arrived) but is written nowhere.
    assert path == f"/services/{SECRET}"
    outputs = [_ok(project, "audit", "--format", f) for f in ("table", "json", "csv")]
    outputs += [_ok(project, "logs", "--agent", a, "--env", "staging") for a in
                ("feed-monitor", "doomed")]
    assert all(SECRET not in text for text in outputs)
    for file in (project / ".flexor").rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file
    assert os.environ.get("SLACK_WEBHOOK_URL", "").endswith(SECRET)
