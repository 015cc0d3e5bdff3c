"""This host's processes as /proc shows them: parents, liveness, flock holders."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from flexor_iac.core.procfs import alive, command_of, file_id, flock_holders, lineage, parent_of


def test_the_lineage_runs_from_this_process_up_through_its_parent() -> None:
    found = lineage()
    assert {os.getpid(), os.getppid()} <= found
    assert parent_of(os.getpid()) == os.getppid()
    assert 1 not in found and 0 not in found


def test_a_process_is_alive_while_it_runs() -> None:
    assert alive(os.getpid())
    assert not alive(0) and not alive(-1)


def test_the_holder_of_a_flock_is_found_by_the_files_device_and_inode(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with path.open("a+") as handle:
        file = file_id(os.fstat(handle.fileno()))
        assert os.getpid() not in flock_holders().get(file, set())
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert os.getpid() in flock_holders()[file]
        fcntl.flock(handle, fcntl.LOCK_UN)
        assert os.getpid() not in flock_holders().get(file, set())


def test_the_command_line_of_a_process_is_its_arguments() -> None:
    assert command_of(os.getpid()) == Path(f"/proc/{os.getpid()}/cmdline").read_bytes() \
        .decode().split("\0")[:-1]
    assert command_of(0) == []
