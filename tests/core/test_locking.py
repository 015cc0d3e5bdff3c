"""The per-environment operation lock: who holds it, waiting for it, and crashes."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.core import locking, procfs
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.locking import Holder, lock_file, operation_lock
from flexor_iac.core.workspace import ProjectPaths

HOLDER = """
import sys, time
from pathlib import Path
from flexor_iac.core.constants import Environment
from flexor_iac.core.locking import operation_lock
from flexor_iac.core.workspace import ProjectPaths
with operation_lock(ProjectPaths(Path(sys.argv[1])), Environment.STAGING):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    print("releasing", flush=True)
"""


@pytest.fixture
def paths(tmp_path: Path) -> ProjectPaths:
    return ProjectPaths(tmp_path / "project")


def _hold(paths: ProjectPaths, seconds: float) -> subprocess.Popen[str]:
    """Another process (a stand-in for `flexor deploy`) holding the staging lock."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(paths.root), str(seconds),
                               "deploy", "--env", "staging"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture
def held(paths: ProjectPaths) -> Iterator[subprocess.Popen[str]]:
    holder = _hold(paths, 60)
    yield holder
    holder.kill()
    holder.wait()


@pytest.mark.engine
def test_a_second_operation_is_refused_naming_the_holder(
        paths: ProjectPaths, held: subprocess.Popen[str]) -> None:
    with pytest.raises(PolicyRefusal) as refused, operation_lock(paths, Environment.STAGING):
        pass
    message = str(refused.value)
    assert refused.value.exit_code == ExitCode.REFUSED
    assert message.startswith("staging is locked by another flexor operation: ")
    assert f"(pid {held.pid})" in message
    assert "running `-c " in message and "deploy --env staging`" in message
    assert "--lock-timeout" in message


@pytest.mark.engine
def test_other_environments_are_not_locked(paths: ProjectPaths,
                                           held: subprocess.Popen[str]) -> None:
    with operation_lock(paths, Environment.PRODUCTION):
        assert json.loads(lock_file(paths, Environment.PRODUCTION).read_text())["pid"] == \
            os.getpid()


@pytest.mark.engine
def test_a_timeout_waits_for_the_holder_to_finish(paths: ProjectPaths) -> None:
    holder = _hold(paths, 1.0)
    heard: list[str] = []
    with operation_lock(paths, Environment.STAGING, timeout=30, say=heard.append):
        assert holder.stdout is not None
        said = select.select([holder.stdout], [], [], 0)[0] and holder.stdout.readline()
    holder.wait()
    assert said == "releasing\n"  # the holder had finished before this operation went on
    assert heard and heard[0].startswith("waiting behind ")
    assert heard[0].endswith("(up to 0m30s for the staging lock), position 1")
    assert not any("ended without finishing" in line for line in heard)


@pytest.mark.engine
def test_a_timeout_that_runs_out_is_refused(paths: ProjectPaths,
                                            held: subprocess.Popen[str]) -> None:
    with pytest.raises(PolicyRefusal, match=r"waited 0m01s in line \(position 1\)"), \
            operation_lock(paths, Environment.STAGING, timeout=1):
        pass


@pytest.mark.engine
def test_a_killed_holder_frees_the_lock_and_is_named_by_the_next(paths: ProjectPaths) -> None:
    holder = _hold(paths, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    heard: list[str] = []
    with operation_lock(paths, Environment.STAGING, say=heard.append):
        pass
    assert len(heard) == 1
    assert heard[0].startswith("the previous operation on staging ended without finishing: ")
    assert f"(pid {holder.pid})" in heard[0]
    # released cleanly: the next one hears nothing
    heard.clear()
    with operation_lock(paths, Environment.STAGING, say=heard.append):
        pass
    assert heard == []


def test_the_holder_may_take_its_lock_again(paths: ProjectPaths) -> None:
    with operation_lock(paths, Environment.STAGING), operation_lock(paths, Environment.STAGING):
        assert json.loads(lock_file(paths, Environment.STAGING).read_text())["pid"] == \
            os.getpid()
    assert lock_file(paths, Environment.STAGING).read_text() == ""


@pytest.mark.parametrize("proc_locks, held", [
    ("1: FLOCK  ADVISORY  WRITE 4242 {major:02x}:{minor:02x}:{inode} 0 EOF", True),
    ("1: FLOCK  ADVISORY  WRITE 4242 {other:02x}:{minor:02x}:{inode} 0 EOF", False),
    ("1: FLOCK  ADVISORY  WRITE 4242 {major:02x}:{minor:02x}:1 0 EOF\n"
     "1: -> FLOCK  ADVISORY  WRITE {inode} {major:02x}:{minor:02x}:1 0 EOF", False),
], ids=["this file", "another device's same inode", "a waiter's pid"])
def test_db_status_says_held_only_for_a_lock_on_this_very_file(
        paths: ProjectPaths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        proc_locks: str, held: bool) -> None:
    """The lock of a holder that ended without finishing is free, though a lock on a file of
    another device with the same inode number, or a waiter whose pid is that number, exists."""
    lock = lock_file(paths, Environment.STAGING)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(Holder.me().dump())
    status = lock.stat()
    major, minor = os.major(status.st_dev), os.minor(status.st_dev)
    table = tmp_path / "locks"
    table.write_text(proc_locks.format(major=major, minor=minor, other=major + 1,
                                       inode=status.st_ino) + "\n")
    monkeypatch.setattr(procfs, "PROC_LOCKS", table)
    [state] = locking.local_locks(paths)
    assert (state.environment, state.held) == ("staging", held)
