"""The process-lineage rule of a PLEXI-managed production (access/lineage.py): a process below
the flexor operation holding the environment's lock is trusted, any other is not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flexor_iac.access.lineage import trusted_lineage
from flexor_iac.core.constants import Environment
from flexor_iac.core.locking import Holder, lock_file, operation_lock
from flexor_iac.core.workspace import ProjectPaths

PRODUCTION = Environment.PRODUCTION
# What a provider asks, in a process of its own (argv[1]: the project).
ASK = ("import sys; from pathlib import Path; from flexor_iac.access.lineage import "
       "trusted_lineage; from flexor_iac.core.constants import Environment; from "
       "flexor_iac.core.workspace import ProjectPaths; print(trusted_lineage(ProjectPaths("
       "Path(sys.argv[1])), Environment.PRODUCTION))")
# A stand-in for a direct `pulumi up`'s program: it holds the lock until its stdin closes.
HOLD = ("import sys; from pathlib import Path; from flexor_iac.core.constants import "
        "Environment; from flexor_iac.core.locking import operation_lock; from "
        "flexor_iac.core.workspace import ProjectPaths\n"
        "with operation_lock(ProjectPaths(Path(sys.argv[1])), Environment.PRODUCTION):\n"
        "    print('held', flush=True); sys.stdin.read()")


@pytest.fixture
def paths(tmp_path: Path) -> ProjectPaths:
    return ProjectPaths(tmp_path / "project")


def test_the_operation_holding_the_lock_is_trusted_in_its_own_process(
        paths: ProjectPaths) -> None:
    with operation_lock(paths, PRODUCTION):  # the in-process stacks of the unit tests
        assert trusted_lineage(paths, PRODUCTION)
        assert not trusted_lineage(paths, Environment.STAGING)


@pytest.mark.engine
def test_a_provider_below_the_holder_through_a_shim_is_trusted(paths: ProjectPaths) -> None:
    """flexor (this test, holding the lock) → a shell that does not exec, as Pulumi's shim →
    python, as the provider."""
    shim = f"{sys.executable} -c \"$1\" \"$2\"; status=$?; exit $status"
    with operation_lock(paths, PRODUCTION):
        asked = subprocess.run(["sh", "-c", shim, "shim", ASK, str(paths.root)],
                               capture_output=True, text=True, check=True, timeout=60)
    assert asked.stdout.strip() == "True"


@pytest.mark.engine
def test_a_process_beside_the_holder_is_not_trusted(paths: ProjectPaths) -> None:
    """A direct `pulumi up`: its program holds the lock, the provider is not below it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(paths.root)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not trusted_lineage(paths, PRODUCTION)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_without_a_holder_nothing_is_trusted(paths: ProjectPaths) -> None:
    """A direct `pulumi destroy`: no program, so no one holds the lock."""
    assert not trusted_lineage(paths, PRODUCTION)  # never locked
    with operation_lock(paths, PRODUCTION):
        pass
    assert not trusted_lineage(paths, PRODUCTION)  # released: the record is emptied


def test_a_holder_record_left_behind_is_not_trusted(paths: ProjectPaths) -> None:
    """A flexor killed with kill -9 leaves its record in the lock file; once the kernel gives
    its pid to another process (soon, in a CI container, where pids start low again), that
    process's descendants — a `pulumi destroy` run from it — must not be trusted."""
    path = lock_file(paths, PRODUCTION)
    path.parent.mkdir(parents=True)
    reused = Holder("ci", socket.gethostname(), os.getpid(), "flexor deploy --env production",
                    "2026-01-01T00:00:00+00:00")
    path.write_text(reused.dump())  # no flock held: what kill -9 leaves
    assert not trusted_lineage(paths, PRODUCTION)
