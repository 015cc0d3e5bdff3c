"""`flexor history` reads the stack's updates and each agent's versions from the state's files,
on the embedded `file://` backend and on the team database's table: no engine process, the
same text and JSON the engine's answers give. `agents list` and `logs` read the control plane
only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flexor_iac.controlplane.pulumi_files import PulumiFiles
from flexor_iac.core.constants import ExitCode
from flexor_iac.deploy import sessions
from flexor_iac.deploy.toolchain import TOOL_FILES, pulumi_bin_dir
from tests.helpers.cli import flexor_main

pytestmark = pytest.mark.engine

ASKED = (("--env", "staging"), ("--env", "staging", "--json"),
         ("--env", "staging", "--agent", "feed-monitor", "--json"),
         ("--env", "staging", "--agent", "probe"), ("--env", "staging", "--limit", "2"),
         ("--env", "staging", "--limit", "1", "--json"), ("--env", "production", "--json"))


def _answers(project: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    found = []
    for args in ASKED:
        capsys.readouterr()
        code = flexor_main(project, "history", *args)
        out, err = capsys.readouterr()
        assert code == ExitCode.OK, err
        found.append(out)
    return found


def test_history_says_what_the_engine_says_without_starting_it(
        store_kind: str, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    assert flexor_main(project, "sync", "--vault", "company") == ExitCode.OK
    assert flexor_main(project, "deploy", "--env", "staging", "--yes") == ExitCode.OK
    agent.write_text(re.sub(r'version: "[0-9.]+"', 'version: "1.1"', agent.read_text(),
                            count=1).replace("max_attempts: 2", "max_attempts: 3"))
    assert flexor_main(project, "deploy", "--env", "staging", "--yes") == ExitCode.OK
    assert flexor_main(project, "rollback", "--agent", "feed-monitor", "--env", "staging",
                       "--yes") == ExitCode.OK
    with monkeypatch.context() as engine_only:
        engine_only.setattr(PulumiFiles, "of", classmethod(lambda cls, *_args: None))
        by_engine = _answers(project, capsys)
    assert "feed-monitor: 1.0 (held, rolled back from 1.1); retained: 1.1, 1.0" in by_engine[0]
    assert by_engine[0].count("feed-monitor") == 4  # three updates, and the versions

    def no_engine(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("history started the engine")
    monkeypatch.setattr(sessions, "open_stack", no_engine)
    broken = tmp_path / "broken-toolchain"  # a Pulumi that fails whatever it is asked
    broken.mkdir()
    for name in TOOL_FILES:
        (broken / name).write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
        (broken / name).chmod(0o755)
    try:
        with monkeypatch.context() as no_toolchain:
            no_toolchain.setenv("FLEXOR_PULUMI_BIN", str(broken))
            pulumi_bin_dir.cache_clear()
            assert _answers(project, capsys) == by_engine
            # the other reading verbs never needed the engine: the control plane alone
            for verb in (("agents", "list"), ("logs", "--agent", "feed-monitor"), ("status",)):
                assert flexor_main(project, *verb, "--env", "staging") == ExitCode.OK
    finally:
        pulumi_bin_dir.cache_clear()
