"""The README runs top to bottom: its `sh` blocks, in order, in a fresh clone of a set-up
machine, as one shell session (so an `export` carries on), answering its confirmation prompts
as a person at a terminal would. A README command that fails fails this test. The getting-started
guide takes the README's tour (the same blocks, which it must repeat exactly) and goes on: its
further blocks run next, in the same session."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers.clone import fresh_clone, git, set_up_machine
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine

# `make test` and `make test-fast` run this very suite (or its part without the engine); every
# other line of every `sh` block runs.
NOT_RUN = ("make test", "make test-fast")
PROMPT = "[y/N]: "
TIMEOUT_SECONDS = 900


def shell_blocks(markdown: str) -> list[list[str]]:
    """The lines of each ```sh block, in order."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in markdown.splitlines():
        if current is None and line.strip() == "```sh":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def session_script(blocks: list[list[str]]) -> str:
    """One bash script: the blocks' lines, stopping at the first command that fails."""
    lines = ["set -eu", "trap 'echo \"README command failed: $BASH_COMMAND\" >&2' ERR"]
    for block in blocks:
        lines += [line for line in block if line.split("#", 1)[0].strip() not in NOT_RUN]
    return "\n".join(lines) + "\n"


def run_at_a_terminal(script: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run `script` with a terminal on stdin; answer `y` to each confirmation prompt."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(["bash", "-c", script], cwd=cwd, env=env, stdin=terminal,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as shell:
        os.close(terminal)
        assert shell.stdout is not None
        stdout = shell.stdout.fileno()
        output = bytearray()

        def ended() -> bool:
            """Reads what the session said (a second at most): whether it is all said."""
            ready, _, _ = select.select([stdout], [], [], 1.0)
            if not ready:
                return False
            chunk = os.read(stdout, 65536)
            output.extend(chunk)
            if chunk and output.endswith(PROMPT.encode()):
                os.write(controller, b"y\n")
            return not chunk
        try:
            eventually(ended, "the README session did not end", timeout=TIMEOUT_SECONDS,
                       interval=0)
        except AssertionError:
            shell.kill()  # its exit code and output say where it stood
        code = shell.wait()
    os.close(controller)
    return code, output.decode(errors="replace")


def test_the_readme_runs_top_to_bottom(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    env = {**os.environ, **set_up_machine(clone, tmp_path)}
    env.pop("FLEXOR_API_KEY", None)
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)  # the test's own home (write_guard)
    blocks = shell_blocks((REPO / "README.md").read_text())
    assert blocks[0][0].startswith("make demo")  # the first thing a newcomer runs
    guide = shell_blocks((REPO / "docs" / "getting-started.md").read_text())
    assert guide[:len(blocks)] == blocks  # the guide starts with the README's tour, verbatim
    blocks += guide[len(blocks):]
    code, output = run_at_a_terminal(session_script(blocks), clone, env)
    assert code == 0, output[-4000:]
    # the first key was made (a failure inside `export X=$(…)` would not stop the shell), and
    # the production deploy and the rollback asked, and were answered
    assert "Access control is now on; me@fund.com is owner of every vault." in output
    assert f"Deploy these changes to production? {PROMPT}" in output
    assert f"Roll feed-monitor back to 1.0 in production? {PROMPT}" in output
    # The checkout stays clean, but for what the README says a direct `pulumi` command does
    # to the stack file it works on: Pulumi writes its passphrase salt there.
    changed = git(clone, "status", "--porcelain").splitlines()
    assert set(changed) <= {" M Pulumi.staging.yaml"}, changed
    added = [line for line in git(clone, "diff", "-U0").splitlines()
             if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert all(line.startswith("+encryptionsalt: ") for line in added), added
