"""`flexor validate`: paths, --changed against git, --env, --json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from flexor_iac import main as cli_main
from flexor_iac.core.constants import ExitCode
from tests.conftest import add_vault
from tests.helpers.cli import flexor_child
from tests.helpers.project import add_special_files


def _validate(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = cli_main.main(["validate", "--project-dir", str(root), *args])
    return code, [line for line in capsys.readouterr().err.splitlines() if line]


def _break_agent(root: Path) -> None:
    agent = root / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('cron: "*/30 * * * *"', 'cron: "*/30 * *"'))


def _break_skill(root: Path) -> None:
    skill = root / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("    required: true\n", "    required: true\n"
                                               "    colour: blue\n"))


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root,
                   check=True, capture_output=True)


def test_all_problems_in_all_files_are_reported(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _break_agent(project)
    _break_skill(project)
    code, lines = _validate(project, capsys)
    assert code == ExitCode.FAILED
    assert [line.split(": error")[0] for line in lines] == [
        "agents/feed-monitor.yaml:9:3", "vaults/company/skills/data-freshness-check.yaml:10:5"]


def test_paths_limit_the_report_not_the_loading(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _break_agent(project)
    _break_skill(project)
    code, lines = _validate(project, capsys, str(project / "vaults"))
    assert code == ExitCode.FAILED
    assert len(lines) == 1 and lines[0].startswith("vaults/company/skills/")
    code, lines = _validate(project, capsys, str(project / "agents" / "feed-monitor.yaml"))
    assert len(lines) == 1 and lines[0].startswith("agents/feed-monitor.yaml:9:3")


@pytest.mark.engine
def test_changed_reports_changed_files_and_their_referrers(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = project / "agents" / "other.yaml"
    other.write_text((project / "agents" / "feed-monitor.yaml").read_text()
                     .replace("name: feed-monitor", "name: other")
                     .replace("skill: data-freshness-check", "skill: core.audit.log")
                     .replace("feed_name:", "event:").replace("max_age_minutes: 30\n", ""))
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "base")
    _git(project, "checkout", "-qb", "feature")
    other.write_text(other.read_text().replace('cron: "*/30 * * * *"', 'cron: "bad"'))
    _git(project, "commit", "-qam", "unrelated breakage already on the branch")
    skill = project / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("      feed: ", "      source: "))
    _git(project, "checkout", "-q", "main")
    _git(project, "checkout", "-q", "feature")
    code, lines = _validate(project, capsys, "--changed")
    paths = sorted({line.split(":")[0] for line in lines})
    # other.yaml changed on the branch; the skill changed in the work tree; feed-monitor uses it
    assert paths == ["agents/other.yaml", "vaults/company/skills/data-freshness-check.yaml"]
    code, lines = _validate(project, capsys, "--changed", "--base", "feature")
    assert sorted({line.split(":")[0] for line in lines}) == [
        "vaults/company/skills/data-freshness-check.yaml"]
    assert code == ExitCode.FAILED


@pytest.mark.engine
def test_changed_outside_git_is_a_usage_error(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _validate(project, capsys, "--changed")
    assert code == ExitCode.USAGE
    assert len(lines) == 1 and lines[0].startswith("error: --changed")


def test_env_restricts_environment_rules(project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    add_vault(project, "personal", "L3", "staging", {"only-l3": (
        'name: only-l3\nversion: "1.0"\ndescription: "x"\nsteps:\n'
        "  - action: core.logic.set_output\n")})
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace(
        '  - skill: core.audit.log\n    args:\n      event: "feed_freshness_check"\n'
        '      result: "{{ result }}"\n', "  - skill: only-l3\n"))
    assert _validate(project, capsys, "--env", "staging") == (ExitCode.OK, [])
    code, lines = _validate(project, capsys, "--env", "production")
    assert code == ExitCode.FAILED
    assert "skill `only-l3` does not resolve in production (searched L4, L2, L1)" in lines[0]


def test_json_is_a_list_of_diagnostics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _break_agent(project)
    code = cli_main.main(["validate", "--project-dir", str(project), "--json"])
    assert code == ExitCode.FAILED
    found = json.loads(capsys.readouterr().out)
    assert found == [{"path": "agents/feed-monitor.yaml", "line": 9, "col": 3,
                      "severity": "error", "rule": "cron-invalid",
                      "message": "cron expression '*/30 * *' has 3 fields; expected 5 (minute "
                                 "hour day-of-month month day-of-week)"}]


@pytest.mark.engine
def test_special_files_and_links_leaving_a_vault_are_reported_never_read(
        project: Path, tmp_path: Path) -> None:
    expected = add_special_files(project, tmp_path / "secret.md")
    done = flexor_child(project, "validate")
    assert done.returncode == ExitCode.FAILED, done.stderr[-2000:]
    assert sorted(line for line in done.stderr.splitlines() if "[file-" in line) == expected
