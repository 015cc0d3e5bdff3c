"""`flexor audit`: filters, table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.runtime import two_runs


def test_audit_formats_carry_every_documented_field(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "audit", "--format", "json") == ExitCode.OK
    entries = json.loads(capsys.readouterr().out)
    assert [e["status"] for e in entries] == ["success", "failed"]
    for key in ("run_id", "agent_name", "trigger_type", "trigger_at", "tasks_executed",
                "outputs", "decisions", "duration_ms", "status", "errors"):
        assert key in entries[0]
    assert flexor_main(project, "audit", "--format", "csv", "--status", "failed") == ExitCode.OK
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["status"] == "failed"
    assert json.loads(rows[0]["errors"])[0].startswith("attempt 1: task 1")
    assert flexor_main(project, "audit", "--agent", "feed-monitor", "--limit", "1") == ExitCode.OK
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["RUN", "AGENT", "ENVIRONMENT"] and len(table) == 2


def test_audit_dates_select_by_trigger_time(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "audit", "--from", "2000-01-01", "--to", "2000-12-31") == 0
    assert capsys.readouterr().out == "No audit entries match.\n"
    assert flexor_main(project, "audit", "--from", "1d", "--format", "json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert flexor_main(project, "audit", "--from", "someday") == ExitCode.USAGE


def test_out_of_range_options_are_one_usage_line(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "audit", "--limit", "100000000000000000000") == ExitCode.USAGE
    assert capsys.readouterr().err == ("error: Invalid value for '--limit': 100000000000000000000 "
                                       "is not in the range 1<=x<=1000000. (see 'flexor audit "
                                       "--help')\n")
    assert flexor_main(project, "audit", "--from", "3000000d") == ExitCode.USAGE
    assert capsys.readouterr().err == ("error: --from '3000000d': an age may be at most 36500d "
                                       "(100 years)\n")


def test_the_last_representable_day_is_a_valid_end(project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    two_runs(project)
    assert flexor_main(project, "audit", "--to", "9999-12-31", "--format", "json") == ExitCode.OK
    assert len(json.loads(capsys.readouterr().out)) == 2
