"""A stack's files on the embedded backend, read without the engine: a state file that is no
file to read is one line naming it, never waited on (a named pipe) nor read past its limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import StateError
from flexor_iac.deploy import stack_files
from flexor_iac.deploy.stack_files import StackFiles


@pytest.fixture
def files(tmp_path: Path) -> StackFiles:
    found = StackFiles(tmp_path / ".pulumi", Environment.STAGING)
    found.checkpoint.parent.mkdir(parents=True)
    return found


@pytest.mark.parametrize("damage, said", [
    ("fifo", "is not a regular file (a named pipe)"),
    ("folder", "is not a regular file (a directory)"),
    ("huge", f"is larger than {stack_files.MAX_STATE_BYTES >> 20} MiB"),
], ids=["named pipe", "folder", "too large"])
def test_a_state_file_that_is_no_file_to_read_is_one_line(files: StackFiles, damage: str,
                                                          said: str) -> None:
    state = files.checkpoint
    if damage == "fifo":
        os.mkfifo(state)  # no writer: reading it would wait forever, and so would the engine
    elif damage == "folder":
        state.mkdir()
    else:
        with state.open("wb") as sparse:
            sparse.truncate(stack_files.MAX_STATE_BYTES + 1)
    for read in (files.digest, files.deployment):
        with pytest.raises(StateError) as refused:
            read()
        message = str(refused.value)
        assert f"the Pulumi state of staging ({state})" in message and said in message
        assert "\n" not in message


def test_a_missing_state_is_a_new_stack(files: StackFiles) -> None:
    assert (files.digest(), files.deployment()) == ("none", {})
