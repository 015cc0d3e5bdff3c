"""The flexor CLI as the tests run it: in process, as the installed console script (what a user
runs, in a process of its own), and as a child process with a timeout and a memory ceiling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.main import main

# A child process: reading a FIFO blocks and reading /dev/zero never ends on the unfixed code,
# so the CLI runs with a timeout and a memory ceiling instead of hanging the test session.
_CHILD = ("import resource, sys\n"
          "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
          "from flexor_iac.main import main\n"
          "sys.exit(main(sys.argv[1:]))\n")


def flexor_main(project: Path, *args: str) -> int:
    """`flexor ARGS --project-dir PROJECT` in this process; returns the exit code. A verb that
    runs the engine (deploy, rollback, status, ...) starts it through the Automation API."""
    return main([*args, "--project-dir", str(project)])


def flexor(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `flexor` console script in the project, without a terminal."""
    return subprocess.run([str(Path(sys.executable).parent / "flexor"), *args], cwd=project,
                          capture_output=True, text=True, timeout=300, check=False,
                          stdin=subprocess.DEVNULL, env=dict(os.environ))


def flexor_ok(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`flexor`, which must exit 0."""
    done = flexor(project, *args)
    assert done.returncode == ExitCode.OK, f"{args}: {done.stdout}{done.stderr}"
    return done


def flexor_child(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process with a 60 s timeout and a 2 GiB memory ceiling."""
    try:
        return subprocess.run([sys.executable, "-c", _CHILD, *args, "--project-dir",
                               str(project)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"flexor {' '.join(args)} did not finish within 60 s")
