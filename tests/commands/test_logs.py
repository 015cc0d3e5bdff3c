"""`flexor logs`: runs newest first with their lines, status filter and alias, --follow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flexor_iac.commands import logs
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.moments import parse_moment
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.runtime.executor import Executor, RunRequest
from tests.helpers.cli import flexor_main
from tests.helpers.runtime import CATALOG, install, load_catalog, two_runs

STAGING = Environment.STAGING


def test_logs_lists_runs_newest_first_with_their_lines(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "logs", "--agent", "feed-monitor", "--env", "staging") == 0
    out = capsys.readouterr().out
    headings = [line for line in out.splitlines() if line.startswith("== ")]
    assert ["success" in headings[0], "failed" in headings[1]] == [True, True]
    assert "info    attempt 1/2" in out and "error   attempt 2 failed: task 1" in out


def test_status_error_is_an_alias_of_failed(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "logs", "--agent", "feed-monitor", "--env", "staging",
                       "--status", "error") == ExitCode.OK
    headings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("==")]
    assert len(headings) == 1 and "  failed " in headings[0]
    assert flexor_main(project, "logs", "--agent", "feed-monitor", "--env", "staging",
                       "--status", "partial") == ExitCode.OK
    assert capsys.readouterr().out == "No runs of feed-monitor in staging with status partial.\n"
    assert flexor_main(project, "logs", "--agent", "feed-monitor", "--env", "staging",
                       "--since", "yesterday-ish") == ExitCode.USAGE


def test_follow_prints_runs_recorded_after_it_started(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = install(project, STAGING)
    load_catalog(project, CATALOG, {"feeds": [{"name": "equity-prices", "age_minutes": 1}]})
    executor = Executor(ProjectPaths(project), store, environ={})
    ticks = []

    def sleep(_seconds: float) -> None:
        ticks.append(1)
        if len(ticks) == 1:
            executor.run(RunRequest(STAGING, "feed-monitor"))
        elif len(ticks) == 3:
            raise KeyboardInterrupt

    request = logs.LogsRequest(STAGING, "feed-monitor", follow=True)
    assert logs.run(ProjectPaths(project), request, Console(), sleep) == ExitCode.OK
    out = capsys.readouterr().out
    assert out.count("== ") == 1 and "success  feed-monitor 1.0" in out


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--since", "3000000d", "--since '3000000d': an age may be at most 36500d (100 years)"),
    ("--since", "9" * 5000 + "s", f"--since '{'9' * 5000}s': an age may be at most 36500d "
                                  "(100 years)"),
    ("--limit", "100000000000000000000", "Invalid value for '--limit': 100000000000000000000 is "
                                         "not in the range 1<=x<=1000000. (see 'flexor logs "
                                         "--help')"),
])
def test_out_of_range_options_are_one_usage_line(option: str, value: str, message: str,
                                                 project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "logs", "--agent", "feed-monitor", "--env", "staging",
                       option, value) == ExitCode.USAGE
    assert capsys.readouterr().err == f"error: {message}\n"


def test_since_with_a_utc_offset_means_that_moment(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Runs at 03:00Z (failed) and 06:00Z (success); 09:00+05:00 is 04:00Z: only the second."""
    store = install(project, STAGING)
    executor = Executor(ProjectPaths(project), store, environ={}, sleep=lambda _s: None)
    with clock.frozen(datetime(2026, 1, 1, 3, tzinfo=UTC)):
        executor.run(RunRequest(STAGING, "feed-monitor"))
    load_catalog(project, CATALOG, {"feeds": [{"name": "equity-prices", "age_minutes": 1}]})
    with clock.frozen(datetime(2026, 1, 1, 6, tzinfo=UTC)):
        executor.run(RunRequest(STAGING, "feed-monitor"))
    store.close()
    for since in ("2026-01-01T09:00:00+05:00", "2026-01-01T04:00Z", "2025-12-31T23:00-05:00"):
        assert flexor_main(project, "logs", "--agent", "feed-monitor", "--env", "staging",
                           "--since", since) == ExitCode.OK
        headings = [line for line in capsys.readouterr().out.splitlines()
                    if line.startswith("== ")]
        assert len(headings) == 1 and "success" in headings[0], (since, headings)
    assert parse_moment("2026-01-01T09:00:00+05:00", "--since", clock.now()).isoformat() == \
        "2026-01-01T04:00:00+00:00"
    assert parse_moment("0001-01-01T00:00+05:00", "--since", clock.now()) == \
        datetime.min.replace(tzinfo=UTC)  # before the calendar starts: its start
