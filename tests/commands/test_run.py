"""`flexor run`: exit codes, summary lines, refusals, --input and --json (in process)."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.runtime.executor import Executor
from tests.helpers.cli import flexor_main
from tests.helpers.project import write_agent
from tests.helpers.runtime import CATALOG, install, load_catalog


def test_a_successful_run_prints_its_summary_and_exits_0(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_catalog(project, CATALOG, {"feeds": [{"name": "equity-prices", "age_minutes": 3}]})
    install(project, Environment.STAGING).close()
    assert flexor_main(project, "run", "feed-monitor", "--now", "--env", "staging") == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Run [0-9a-f]{32}: feed-monitor 1\.0 in staging: success "
                        r"\(1 attempt\(s\), \d+\.\d\d s\)", lines[0])
    assert lines[1:4] == ["  tasks: data-freshness-check, core.audit.log",
                          "  decision task 2: {{ !result.is_fresh }} → false",
                          "Logs: flexor logs --agent feed-monitor --env staging --limit 1"]


def test_a_failed_run_exits_1_and_json_is_the_audit_entry(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(project, "reader", "  - skill: plexifact.catalog.get_feed_metadata\n"
                "    args: {feed: fx}\n", retry="retry:\n  max_attempts: 2\n")
    install(project, Environment.STAGING).close()  # no catalog data loaded
    code = flexor_main(project, "run", "reader", "--now", "--env", "staging", "--json")
    entry = json.loads(capsys.readouterr().out)
    assert code == ExitCode.FAILED
    assert (entry["status"], entry["attempts"], entry["agent_name"]) == ("failed", 2, "reader")
    assert "plexifact://staging/catalog has no data" in entry["errors"][0]


def test_refusals_and_usage_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(project, "probe", "  - skill: core.audit.log\n    args: {event: p}\n")
    install(project, Environment.STAGING).close()
    assert flexor_main(project, "run", "probe", "--env", "staging") == ExitCode.USAGE
    assert "run needs --now" in capsys.readouterr().err
    assert flexor_main(project, "run", "nobody", "--now", "--env", "staging") == ExitCode.FAILED
    assert "agent nobody is not deployed to staging" in capsys.readouterr().err
    assert flexor_main(project, "run", "probe", "--now", "--env", "staging",
                       "--trigger", "schedule") == ExitCode.USAGE
    assert "probe has a manual trigger, not schedule" in capsys.readouterr().err
    assert flexor_main(project, "run", "probe", "--now", "--env", "staging",
                       "--input", "novalue") == ExitCode.USAGE
    assert flexor_main(project, "pause", "--agent", "probe", "--env", "staging") == ExitCode.OK
    assert flexor_main(project, "run", "probe", "--now", "--env", "staging") == ExitCode.REFUSED
    assert "probe is paused in staging" in capsys.readouterr().err
    assert flexor_main(project, "run", "probe", "--now", "--env", "staging",
                       "--force") == ExitCode.OK


def test_pause_and_resume_say_what_changed(project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    install(project, Environment.STAGING).close()
    for verb, expected in [("pause", "feed-monitor paused in staging."),
                           ("pause", "feed-monitor is already paused in staging."),
                           ("resume", "feed-monitor resumed in staging.")]:
        assert flexor_main(project, verb, "--agent", "feed-monitor", "--env", "staging") == 0
        assert capsys.readouterr().out.strip() == expected
    assert flexor_main(project, "pause", "--agent", "ghost", "--env", "staging") == ExitCode.FAILED


@pytest.mark.parametrize("event", [
    "{{ 'x' * 10**7 }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    # rendered in this process (tests that start no process), a power is computed in full:
    # stopping it takes the render workers' time limit
    pytest.param("{{ 7**9999999 }}", marks=pytest.mark.engine),
])
def test_a_run_over_a_limit_exits_1_with_its_run_recorded(
        project: Path, capsys: pytest.CaptureFixture[str], event: str) -> None:
    write_agent(project, "greedy",
                f"  - skill: core.audit.log\n    args:\n      event: \"{event}\"\n",
                retry="retry:\n  max_attempts: 2\n")
    install(project, Environment.STAGING).close()
    code = flexor_main(project, "run", "greedy", "--now", "--env", "staging", "--json")
    entry = json.loads(capsys.readouterr().out)
    assert code == ExitCode.FAILED
    assert (entry["status"], entry["attempts"]) == ("failed", 2)
    assert flexor_main(project, "logs", "--agent", "greedy", "--env", "staging") == ExitCode.OK
    assert entry["run_id"] in capsys.readouterr().out


def test_the_wait_between_attempts_is_one_line_each_without_a_terminal(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_agent(project, "reader", "  - skill: plexifact.catalog.get_feed_metadata\n"
                "    args: {feed: fx}\n",
                retry="retry:\n  max_attempts: 3\n  backoff_seconds: 42\n")
    install(project, Environment.STAGING).close()  # no catalog data: every attempt fails
    waits: list[float] = []
    monkeypatch.setattr("flexor_iac.commands.run.Executor", partial(Executor, sleep=waits.append))
    code = flexor_main(project, "run", "reader", "--now", "--env", "staging", "--json")
    assert (code, waits) == (ExitCode.FAILED, [42, 42])
    waiting = [line for line in capsys.readouterr().err.splitlines() if "retrying" in line]
    assert [re.sub(r"failed: .*;", "failed: …;", line) for line in waiting] == [
        "attempt 1 of 3 failed: …; retrying in 42 s …",
        "attempt 2 of 3 failed: …; retrying in 42 s …"]
    assert "plexifact://staging/catalog has no data" in waiting[0]
