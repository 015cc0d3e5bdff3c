"""`flexor history` reads the state's files on the embedded `file://` backend and on the team
database's table, never the engine, and only the newest `--limit` history files of a long
history (on fake stacks; tests/commands/test_history_without_engine.py compares the answer with
the engine's)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flexor_iac.controlplane.pulumi_files import PulumiFiles
from flexor_iac.core.constants import PULUMI_PROJECT, Environment, ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.state_records import SECRET_SIG, SECRET_VALUE, hide_secrets
from tests.helpers.cli import flexor_main
from tests.helpers.stacks import FakeStacks, use_fake_stacks, write_state_file

UNDER = f".pulumi/history/{PULUMI_PROJECT}/staging/"
OLD = 1_000_000_000_000_000_000  # 2001, in nanoseconds: before any update the fake records


@pytest.fixture(params=["embedded", pytest.param("team", marks=pytest.mark.postgres)])
def deployed(request: pytest.FixtureRequest, project: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeStacks]:
    """The example project deployed once to staging, on fake stacks, in either store."""
    if request.param == "team":
        monkeypatch.setenv("FLEXOR_DATABASE_URL", request.getfixturevalue("team_database"))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-team-passphrase")
    fake = use_fake_stacks(monkeypatch)
    assert flexor_main(project, "sync", "--vault", "company") == ExitCode.OK
    assert flexor_main(project, "deploy", "--env", "staging", "--yes") == ExitCode.OK
    return project, fake


def _older_updates(project: Path, count: int, broken: int) -> None:
    """`count` older updates, the oldest `broken` of them damaged files (garbage, a JSON
    list): reading one fails the command."""
    for i in range(count):
        content = b"\x00garbage" if i < broken // 2 else b"[1, 2]" if i < broken else \
            json.dumps({"kind": "update", "result": "succeeded", "startTime": 1_600_000_000 + i,
                        "endTime": 1_600_000_001 + i, "message": f"flexor deploy --env staging: "
                        f"feed-monitor 0.{i} → 0.{i + 1}", "resourceChanges": {}}).encode()
        write_state_file(ProjectPaths(project), Environment.STAGING,
                          f"{UNDER}staging-{OLD + i:019d}.history.json", content)


def _history(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = flexor_main(project, "history", "--env", "staging", *args)
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    return out


def test_history_reads_the_files_not_the_engine(
        deployed: tuple[Path, FakeStacks], capsys: pytest.CaptureFixture[str]) -> None:
    project, fake = deployed
    asked = len(fake.asked)
    lines = _history(project, capsys).splitlines()
    assert lines[0].split() == ["TIME", "KIND", "RESULT", "AGENTS"]
    assert lines[1].split()[3:] == ["deploy", "succeeded", "feed-monitor", "+", "→", "1.0"]
    assert lines[-1] == "feed-monitor: 1.0; retained: 1.0"
    assert fake.asked[asked:] == []  # neither history() nor resources() of the stack


def test_a_long_history_is_read_only_as_far_as_the_limit(
        deployed: tuple[Path, FakeStacks], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    project, _fake = deployed
    _older_updates(project, 120, broken=20)
    read: list[str] = []
    original = PulumiFiles.read

    def counted(files: PulumiFiles, name: str) -> bytes | None:
        read.append(name)
        return original(files, name)
    monkeypatch.setattr(PulumiFiles, "read", counted)
    listed: list[str] = []
    listing = PulumiFiles.names

    def names(files: PulumiFiles, under: str) -> list[str]:
        listed.append(under)
        return listing(files, under)
    monkeypatch.setattr(PulumiFiles, "names", names)
    doc = json.loads(_history(project, capsys, "--json"))
    assert len(doc["updates"]) == 50  # the default --limit
    assert doc["updates"][0]["changes"] == "feed-monitor + → 1.0"
    assert doc["updates"][1]["changes"] == "feed-monitor 0.119 → 0.120"
    assert len([n for n in read if n.startswith(UNDER)]) == 50
    # in team mode the database sorts the keys and sends the newest 50 only
    assert listed == ([] if os.environ.get("FLEXOR_DATABASE_URL") else [UNDER])
    read.clear()
    lines = _history(project, capsys, "--limit", "3").splitlines()
    assert [line.split()[-1] for line in lines[1:4]] == ["1.0", "0.120", "0.119"]
    assert len([n for n in read if n.startswith(UNDER)]) == 3
    # the damaged files are the oldest: a limit that reaches them says which one
    capsys.readouterr()
    assert flexor_main(project, "history", "--env", "staging", "--limit", "1000") != 0
    assert "is damaged" in capsys.readouterr().err


def test_a_limit_with_no_update_in_it_says_so(
        deployed: tuple[Path, FakeStacks], capsys: pytest.CaptureFixture[str]) -> None:
    project, _fake = deployed
    lines = _history(project, capsys, "--agent", "feed-monitor", "--limit", "1").splitlines()
    assert lines[0].split() == ["TIME", "KIND", "RESULT", "AGENTS"]
    assert flexor_main(project, "deploy", "--env", "staging", "--yes") == ExitCode.OK
    paths = ProjectPaths(project)
    write_state_file(paths, Environment.STAGING, f"{UNDER}staging-{9 * OLD:019d}.history.json",
                      json.dumps({"kind": "refresh", "result": "succeeded",
                                  "startTime": 1, "endTime": 2}).encode())
    lines = _history(project, capsys, "--limit", "1").splitlines()
    assert lines[0] == "No deployments among the newest 1 operations (see --limit)."


def test_secrets_are_hidden_not_decrypted() -> None:
    stored = {SECRET_SIG: SECRET_VALUE, "ciphertext": "v1:abc"}
    decrypted = {SECRET_SIG: SECRET_VALUE, "plaintext": '"1.0"'}
    assert hide_secrets({"version": stored, "retained": [{"version": decrypted}]}) == {
        "version": "[secret]", "retained": [{"version": "[secret]"}]}


def test_an_environment_never_deployed_has_no_deployments(
        deployed: tuple[Path, FakeStacks], capsys: pytest.CaptureFixture[str]) -> None:
    project, fake = deployed
    asked = len(fake.asked)
    capsys.readouterr()
    assert flexor_main(project, "history", "--env", "production") == ExitCode.OK
    assert capsys.readouterr().out.splitlines() == ["No deployments yet."]
    assert fake.asked[asked:] == []


def test_a_zstd_compressed_state_is_asked_of_the_engine(
        deployed: tuple[Path, FakeStacks], capsys: pytest.CaptureFixture[str]) -> None:
    project, fake = deployed
    write_state_file(ProjectPaths(project), Environment.STAGING,
                      f"{UNDER}staging-{9 * OLD:019d}.history.json.zst", b"(zstd)")
    by_files = len(fake.asked)
    lines = _history(project, capsys).splitlines()
    assert fake.asked[by_files:] == [("history", "staging"), ("resources", "staging")]
    assert lines[-1] == "feed-monitor: 1.0; retained: 1.0"


def test_status_pages_back_to_the_last_deployment(
        deployed: tuple[Path, FakeStacks], capsys: pytest.CaptureFixture[str]) -> None:
    project, fake = deployed
    capsys.readouterr()
    assert flexor_main(project, "status", "--env", "staging", "--json") == ExitCode.OK
    before = json.loads(capsys.readouterr().out)["last_deployment"]
    assert before is not None
    for i in range(45):  # newer operations than any page of names holds, none an update
        write_state_file(ProjectPaths(project), Environment.STAGING,
                         f"{UNDER}staging-{9 * OLD + i:019d}.history.json",
                         json.dumps({"kind": "refresh", "result": "succeeded",
                                     "startTime": 1, "endTime": 2}).encode())
    assert flexor_main(project, "status", "--env", "staging", "--json") == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["last_deployment"] == before
    assert ("history", "staging") not in fake.asked
