"""`make demo` (scripts/demo) in a fresh clone: it deploys and runs something, re-running it
deploys nothing, and the clone stays clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.clone import fresh_clone, git

pytestmark = pytest.mark.engine

FLEXOR = str(Path(sys.executable).parent / "flexor")


def _demo(clone: Path) -> str:
    done = subprocess.run([str(clone / "scripts" / "demo")], cwd=clone,
                          env={**os.environ, "FLEXOR": FLEXOR}, capture_output=True, text=True,
                          timeout=600, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _status(output: str, env: str) -> list[str]:
    lines = output.splitlines()
    start = lines.index(f"Environment: {env}")
    return lines[start:start + 6]


def test_the_demo_deploys_runs_and_leaves_the_clone_clean(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    first = _demo(clone)
    sandbox, staging = _status(first, "sandbox"), _status(first, "staging")
    assert sandbox[1] == "Agents: 1 active, 0 paused, 0 erroring"
    assert staging[1] == ("Agents: 1 active, 0 paused, 0 erroring, 1 not served "
                          "(no `flexor serve --env staging` running)")  # feed-monitor's schedule
    for status in (sandbox, staging):
        assert status[3].endswith(" UTC (current)")  # vault sync
        assert status[4] == "PlexiFact connection: healthy"
        assert status[5].startswith("Last run: feed-check 1.0: success, 20")
    assert "Deployed to sandbox: 3 create." in first.splitlines()
    assert "Deployed to staging: 5 create." in first.splitlines()
    assert git(clone, "status", "--porcelain") == ""

    again = _demo(clone)
    for env in ("sandbox", "staging"):
        assert any(line.startswith(f"Plan for {env}: 0 to create, 0 to update, 0 to replace, "
                                   "0 to delete;") for line in again.splitlines()), again
    assert "Deployed to" not in again
    assert git(clone, "status", "--porcelain") == ""
