"""The CLI surface: help, usage errors, the error boundary."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import click
import pytest

from flexor_iac import main as cli_main
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import PolicyRefusal

DOCUMENTED_VERBS = ("validate", "sync", "deploy", "status", "rollback", "history", "schema", "init",
                    "agents", "run", "logs", "audit", "pause", "resume", "plexifact", "keys",
                    "access", "trust", "requests", "approve", "reject", "completion")


def test_help_lists_the_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--help"]) == ExitCode.OK
    out = capsys.readouterr().out
    for verb in DOCUMENTED_VERBS:
        assert f"  {verb} " in out


def _leaf_commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    """Every runnable command of the CLI, sub-commands of groups included."""
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _leaf_commands(command, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


COMMANDS = _leaf_commands(cli_main.cli, [])


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_verb_has_help_with_examples(command: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main([*command, "--help"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "Example" in out
    assert "--json" in out


def test_unknown_flag_is_a_usage_error_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["deploy", "--env", "staging", "--bogus"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--bogus" in err[0] and err[0].startswith("error:")


def test_unknown_environment_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["status", "--env", "prod"]) == ExitCode.USAGE
    assert "'prod' is not one of" in capsys.readouterr().err


def test_missing_env_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["deploy"]) == ExitCode.USAGE
    assert "--env" in capsys.readouterr().err


def test_env_comes_from_flexor_env(project: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLEXOR_ENV", "nowhere")
    assert cli_main.main(["--project-dir", str(project), "status"]) == ExitCode.USAGE
    assert "'nowhere' is not one of" in capsys.readouterr().err


def test_global_options_work_after_the_verb(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["validate", "--project-dir", str(project), "--json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == []


def test_control_characters_in_arguments_are_shown_escaped(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--project-dir", str(project)]
    assert cli_main.main([*where, "status", "--env", "staging", "x\x1b[31m"]) == ExitCode.USAGE
    assert capsys.readouterr().err == "error: Got unexpected extra argument (x\\x1b[31m) " \
                                      "(see 'flexor status --help')\n"
    assert cli_main.main([*where, "run", "x\x1b[2J", "--now", "--env", "staging"]) == 1
    assert capsys.readouterr().err.startswith("error: agent x\\x1b[2J is not deployed to staging")
    assert cli_main.main([*where, "logs", "--agent", "x\x1b]0;owned\x07", "--env", "staging"]) == 0
    assert capsys.readouterr().out == "No runs of x\\x1b]0;owned\\x07 in staging.\n"


def test_no_project_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["validate", "--project-dir", str(tmp_path)]) == ExitCode.USAGE
    assert "no Pulumi.yaml at or above" in capsys.readouterr().err


def test_policy_refusal_becomes_exit_3(monkeypatch: pytest.MonkeyPatch, project: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(*_args: object) -> int:
        raise PolicyRefusal("refused: example")

    monkeypatch.setattr("flexor_iac.commands.validate.run", refuse)
    assert cli_main.main(["validate", "--project-dir", str(project)]) == ExitCode.REFUSED
    assert capsys.readouterr().err.strip() == "error: refused: example"


@pytest.mark.parametrize("code, said", [
    (errno.ENOSPC, "No space left on device"), (errno.EDQUOT, "Disk quota exceeded"),
    (errno.EROFS, "Read-only file system")], ids=["full", "quota", "read-only"])
def test_a_disk_that_takes_no_more_is_one_line_not_a_crash(
        monkeypatch: pytest.MonkeyPatch, project: Path, capsys: pytest.CaptureFixture[str],
        code: int, said: str) -> None:
    def full(*_args: object) -> int:
        raise OSError(code, os.strerror(code), str(project / ".flexor" / "snapshots" / "x"))

    monkeypatch.setattr("flexor_iac.commands.sync.run", full)
    assert cli_main.main(["sync", "--all", "--project-dir", str(project)]) == ExitCode.FAILED
    assert capsys.readouterr().err == (f"error: cannot write {project}/.flexor/snapshots/x "
                                       f"({said}): make room, then run the command again\n")
    assert not (project / ".flexor" / "logs").exists()  # no crash log: nothing unexpected


def test_unexpected_error_is_exit_4_with_a_log(monkeypatch: pytest.MonkeyPatch, project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def crash(*_args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.chdir(project)
    monkeypatch.setattr("flexor_iac.commands.validate.run", crash)
    assert cli_main.main(["validate"]) == ExitCode.INTERNAL
    err = capsys.readouterr().err.strip()
    assert "internal error: RuntimeError: boom (traceback in " in err
    log = Path(err.rsplit("traceback in ", 1)[1].rstrip(")"))
    assert log.parent == project / ".flexor" / "logs"
    assert "RuntimeError: boom" in log.read_text()


def test_crash_log_goes_to_the_project_given_by_project_dir(
        monkeypatch: pytest.MonkeyPatch, project: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    def crash(*_args: object) -> int:
        raise RuntimeError("boom")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr("flexor_iac.commands.validate.run", crash)
    assert cli_main.main(["validate", "--project-dir", str(project)]) == ExitCode.INTERNAL
    assert f"traceback in {project / '.flexor' / 'logs'}" in capsys.readouterr().err


def test_verbose_adds_detail_on_stderr_only(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["validate", "--project-dir", str(project)]) == ExitCode.OK
    quiet = capsys.readouterr()
    assert cli_main.main(["validate", "--project-dir", str(project), "-v"]) == ExitCode.OK
    loud = capsys.readouterr()
    assert loud.out == quiet.out
    assert "loaded 7 files: 1 vaults, 1 skills, 1 agents; rules of sandbox, staging, " \
        "production" in loud.err
    assert "loaded" not in quiet.err


@pytest.mark.engine
def test_the_console_script_flushes_everything_before_it_ends(project: Path) -> None:
    """`run()` ends the process without interpreter teardown: output and exit code intact."""
    import subprocess
    import sys

    def flexor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flexor_iac.main", *args, "--project-dir",
                               str(project)], capture_output=True, text=True, check=False)

    clean = flexor("validate", "--json")
    assert (clean.returncode, json.loads(clean.stdout)) == (ExitCode.OK, [])
    (project / "agents" / "broken.yaml").write_text("name: [\n")
    broken = flexor("validate")
    assert broken.returncode == ExitCode.FAILED
    assert broken.stderr.startswith("agents/broken.yaml:2:1: error: invalid YAML")
    assert broken.stdout.endswith("1 error(s), 0 warning(s)\n")


@pytest.mark.parametrize(("given", "message"), [
    (["deploy", "--env", "staging", "--lock-timeout", "soon"],
     "--lock-timeout 'soon': expected a wait such as 30s, 5m or 1h"),
    (["deploy", "--env", "staging", "--lock-timeout", "99999999999999999999h"],
     "--lock-timeout '99999999999999999999h': a wait may be at most 24h"),
    (["deploy", "--env", "staging", "--plan", "x.plan", "--agent", "feed-monitor"],
     "--plan applies a saved plan as it was made: it takes no --dry-run, --agent, --refresh, "
     "--plan-out or --request"),
    (["deploy", "--env", "staging", "--plan-out", "x.plan", "--refresh"],
     "--plan-out cannot save a plan made with --refresh"),
])
def test_deploy_flag_mistakes_are_one_usage_line(given: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str],
                                                 project: Path) -> None:
    assert cli_main.main(["--project-dir", str(project), *given]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


@pytest.mark.parametrize(("given", "named", "where"), [
    (["logs", "--agent", "\udcff", "--env", "staging"], "'--agent'", "flexor logs"),
    (["logs", "--env", "staging", "--agent=feed\udce9"], "'--agent'", "flexor logs"),
    (["logs", "--agent", "x", "--env", "staging", "--since", "\udcff"], "'--since'",
     "flexor logs"),
    (["run", "feed-\udcff", "--now", "--env", "staging"], "'AGENT'", "flexor run"),
    (["keys", "create", "--name", "n", "--user", "\udce9@fund.com", "--scope", "read"],
     "'--user'", "flexor keys create"),
    (["validate", "agents/\udcff.yaml"], "'[PATHS]...'", "flexor validate"),
    (["\udcff"], "'COMMAND'", "flexor"),
])
def test_arguments_that_are_not_utf8_are_one_usage_line(
        given: list[str], named: str, where: str, project: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates; no verb ever sees them."""
    assert cli_main.main(["--project-dir", str(project), *given]) == ExitCode.USAGE
    assert capsys.readouterr().err == \
        f"error: Invalid value for {named}: not valid UTF-8 text (see '{where} --help')\n"
    assert not (project / ".flexor" / "logs").exists()  # no crash log


def test_a_project_dir_that_is_not_utf8_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--project-dir", "/tmp/\udcff", "validate"]) == ExitCode.USAGE
    assert capsys.readouterr().err == "error: Invalid value for '--project-dir': not valid " \
                                      "UTF-8 text (see 'flexor --help')\n"


@pytest.mark.engine
def test_a_shell_argument_that_is_not_utf8_is_a_usage_error(project: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "flexor_iac.main", "logs", "--agent", b"\xff",
                           "--env", "staging", "--project-dir", str(project)],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (ExitCode.USAGE, "")
    assert done.stderr == "error: Invalid value for '--agent': not valid UTF-8 text " \
                          "(see 'flexor logs --help')\n"
