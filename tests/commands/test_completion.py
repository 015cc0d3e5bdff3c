"""`flexor completion SHELL`: click's completion scripts, answered by the real command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flexor_iac import main as cli_main
from flexor_iac.core.constants import ExitCode

SCRIPT_MARKS = {"bash": "complete -o nosort -F _flexor_completion flexor",
                "zsh": "#compdef flexor",
                "fish": "complete --no-files --command flexor"}


# click's bash script first asks bash for its version: that case starts a process.
@pytest.mark.parametrize("shell", [pytest.param("bash", marks=pytest.mark.engine), "zsh", "fish"])
def test_each_shell_gets_a_script_that_calls_flexor_back(
        shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["completion", shell]) == ExitCode.OK
    script = capsys.readouterr().out
    assert f"_FLEXOR_COMPLETE={shell}_complete" in script
    assert SCRIPT_MARKS[shell] in script


@pytest.mark.parametrize("given", [["completion", "tcsh"], ["completion"]])
def test_an_unknown_or_missing_shell_is_a_usage_error(
        given: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(given) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "SHELL" in err


@pytest.mark.parametrize(("words", "expected"), [
    ("flexor comp", ["plain,completion"]),
    ("flexor deploy --env ", ["plain,sandbox", "plain,staging", "plain,production"]),
])
def test_the_variable_the_script_sets_makes_flexor_complete(
        words: str, expected: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("_FLEXOR_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split(" ")) - 1))
    with pytest.raises(SystemExit) as done:  # click answers and exits, as the script expects
        cli_main.main([])
    assert done.value.code == 0
    assert capsys.readouterr().out.split() == expected


@pytest.mark.engine
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_a_verb_through_the_script(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flexor = bin_dir / "flexor"  # what `pip install` puts on PATH, for this interpreter
    flexor.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m flexor_iac.main "$@"\n')
    flexor.chmod(0o755)
    session = ('eval "$(flexor completion bash)"; COMP_WORDS=(flexor roll); COMP_CWORD=1; '
               '_flexor_completion flexor; echo "${COMPREPLY[*]}"')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", session], capture_output=True,
                          text=True, check=False, timeout=60,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert (done.returncode, done.stdout) == (0, "rollback\n"), done.stderr
