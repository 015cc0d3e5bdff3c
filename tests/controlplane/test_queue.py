"""Operations on one environment wait in line for its lock, first come first served, on one
machine (flock) and in team mode (PostgreSQL, every waiter a ticket): each waiter says whom it
waits behind and its place, a killed waiter leaves the line, and a zero wait refuses at once."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.workspace import ProjectPaths
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine

STAGING = Environment.STAGING
# A stand-in for `flexor deploy`: waits for the staging lock, writes what it is told while it
# waits (one line each) to NAME.said, its name to `served` once it holds the lock, and holds
# it until its stdin ends.
WAITER = """
import sys
from pathlib import Path
from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
root, name, timeout = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def say(line):
    with (root / f"{name}.said").open("a") as said:
        said.write(line + "\\n")
with environment_lock(ProjectPaths(root), Environment.STAGING, timeout, say):
    with (root / "served").open("a") as served:
        served.write(name + "\\n")
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture(params=["embedded", pytest.param("team", marks=pytest.mark.postgres)])
def root(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder; in team mode on a new PostgreSQL database (every process started
    here uses it)."""
    if request.param == "team":
        monkeypatch.setenv("FLEXOR_DATABASE_URL", request.getfixturevalue("team_database"))
    else:
        monkeypatch.delenv("FLEXOR_DATABASE_URL", raising=False)
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


class Waiters:
    """The processes of one test, by name; each is ended when the test ends."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: dict[str, subprocess.Popen[str]] = {}
        self.released: list[str] = []

    def start(self, name: str, timeout: float = 120) -> subprocess.Popen[str]:
        self.started[name] = subprocess.Popen(
            [sys.executable, "-c", WAITER, str(self.root), name, str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return self.started[name]

    def said(self, name: str) -> list[tuple[int, int]]:
        """(whose pid it waits behind, its place) of each line a waiter said."""
        path = self.root / f"{name}.said"
        lines = path.read_text().splitlines() if path.exists() else []
        found = []
        for line in lines:
            heard = re.fullmatch(r"waiting behind .*\(pid (\d+)\) running `.*` for \d+m\d\ds, "
                                 r"since \S+ \(up to \S+ for the staging lock\), "
                                 r"position (\d+)", line)
            assert heard, f"{name} said {line!r}"
            found.append((int(heard[1]), int(heard[2])))
        return found

    def waits(self, name: str, behind: str, place: int) -> None:
        """Wait until `name` says it waits behind `behind` at `place`."""
        expected = (self.started[behind].pid, place)
        eventually(lambda: self.said(name)[-1:] == [expected],
                   lambda: f"{name} said {self.said(name)}, not {expected} ({self.errors()})")

    def holds(self, name: str) -> None:
        """The next one served is `name` (and it holds the lock)."""
        before = len(self.released)
        served = eventually(lambda: self.served()[before:] or None,
                            lambda: f"nobody took the lock ({self.errors()})")
        assert served == [name], f"{served} took the lock, not {name}"
        process = self.started[name]
        assert process.stdout is not None
        assert process.stdout.readline() == "held\n", self.errors()

    def release(self, name: str) -> None:
        process = self.started[name]
        assert process.stdin is not None
        process.stdin.close()
        self.released.append(name)
        assert process.wait(60) == 0, self.errors()

    def served(self) -> list[str]:
        path = self.root / "served"
        return path.read_text().split() if path.exists() else []

    def errors(self) -> str:
        ended = {name: process for name, process in self.started.items()
                 if process.poll() not in (None, 0, -signal.SIGKILL)}
        return "; ".join(f"{name}: {process.communicate()[1]}" for name, process in ended.items())


@pytest.fixture
def waiters(root: Path) -> Iterator[Waiters]:
    found = Waiters(root)
    yield found
    for process in found.started.values():
        process.kill()
        process.wait()


def test_waiters_are_served_in_arrival_order_each_saying_its_place(waiters: Waiters) -> None:
    waiters.start("holder", timeout=0)
    waiters.holds("holder")
    for place, name in enumerate(("first", "second", "third"), start=1):
        waiters.start(name)
        waiters.waits(name, "holder", place)
    waiters.release("holder")
    waiters.holds("first")
    waiters.waits("second", "first", 1)
    waiters.waits("third", "first", 2)
    waiters.release("first")
    waiters.holds("second")
    waiters.waits("third", "second", 1)
    waiters.release("second")
    waiters.holds("third")
    waiters.release("third")
    assert waiters.served() == ["holder", "first", "second", "third"]
    holder, first, second = (waiters.started[name].pid for name in ("holder", "first", "second"))
    # said when it changed, not at every look
    assert waiters.said("first") == [(holder, 1)]
    assert waiters.said("second") == [(holder, 2), (first, 1)]
    assert waiters.said("third") == [(holder, 3), (first, 2), (second, 1)]


def test_a_killed_waiter_leaves_the_line(waiters: Waiters) -> None:
    waiters.start("holder", timeout=0)
    waiters.holds("holder")
    waiters.start("killed")
    waiters.waits("killed", "holder", 1)
    waiters.start("next")
    waiters.waits("next", "holder", 2)
    waiters.started["killed"].send_signal(signal.SIGKILL)
    waiters.started["killed"].wait(60)
    waiters.waits("next", "holder", 1)
    waiters.release("holder")
    waiters.holds("next")
    waiters.release("next")
    assert waiters.served() == ["holder", "next"]


def test_no_wait_is_refused_at_once_naming_the_holder(waiters: Waiters, root: Path) -> None:
    waiters.start("holder", timeout=0)
    waiters.holds("holder")
    with pytest.raises(PolicyRefusal) as refused, environment_lock(ProjectPaths(root), STAGING):
        pass
    assert refused.value.exit_code == ExitCode.REFUSED
    message = str(refused.value)
    assert message.startswith("staging is locked by another flexor operation: ")
    assert f"(pid {waiters.started['holder'].pid})" in message
    assert "--lock-timeout 0" in message


def test_a_wait_that_runs_out_is_refused_naming_the_holder_and_the_wait(
        waiters: Waiters, root: Path) -> None:
    waiters.start("holder", timeout=0)
    waiters.holds("holder")
    said: list[str] = []
    with pytest.raises(PolicyRefusal) as refused, \
            environment_lock(ProjectPaths(root), STAGING, 1, said.append):
        pass
    message = str(refused.value)
    assert message.startswith("staging is locked by another flexor operation: ")
    assert f"(pid {waiters.started['holder'].pid})" in message
    assert "; waited 0m01s in line" in message
    assert said and said[0].startswith("waiting behind ")
    waiters.release("holder")
    with environment_lock(ProjectPaths(root), STAGING):  # the refused waiter left the line
        pass
