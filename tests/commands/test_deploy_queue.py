"""Deploys of one environment wait in line by default: started while another one holds the
environment (at its prompt), each says whom it waits behind and its place, and all of them
succeed, one after the other; `--lock-timeout 0` is refused at once, naming the holder. The
real CLI and the real engine (the order itself, on both stores: tests/controlplane/test_queue)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor, flexor_ok
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.engine

FLEXOR = str(Path(sys.executable).parent / "flexor")


class Deploys:
    """`flexor deploy --env staging` processes, each writing stdout and stderr to files."""

    def __init__(self, project: Path, logs: Path) -> None:
        self.project, self.logs = project, logs
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *flags: str, stdin: int = subprocess.DEVNULL) -> None:
        with (self.logs / f"{name}.out").open("wb") as out, \
                (self.logs / f"{name}.err").open("wb") as err:
            self.started[name] = subprocess.Popen(
                [FLEXOR, "deploy", "--env", "staging", *flags], cwd=self.project, stdin=stdin,
                stdout=out, stderr=err, env=dict(os.environ))

    def err(self, name: str) -> str:
        return (self.logs / f"{name}.err").read_text(errors="replace")

    def out(self, name: str) -> str:
        return (self.logs / f"{name}.out").read_text(errors="replace")

    def says(self, name: str, pattern: str) -> None:
        def heard() -> bool:
            assert self.started[name].poll() is None, f"{name} ended: {self.err(name)}"
            return re.search(pattern, self.err(name)) is not None
        eventually(heard, lambda: f"{name} never said {pattern!r}: {self.err(name)}",
                   timeout=120)

    def waits(self, name: str, behind: str, place: int) -> None:
        self.says(name, rf"waiting behind \S+ \(pid {self.started[behind].pid}\) running "
                        rf"`flexor deploy --env staging.*`.*, position {place}\n")

    def finish(self, name: str) -> int:
        return self.started[name].wait(300)


@pytest.fixture
def deploys(project: Path, tmp_path: Path) -> Iterator[Deploys]:
    found = Deploys(project, tmp_path)
    yield found
    for process in found.started.values():
        process.kill()
        process.wait()


def test_deploys_at_once_wait_in_line_and_all_succeed_in_order(
        project: Path, deploys: Deploys) -> None:
    flexor_ok(project, "sync", "--all")
    person, terminal = pty.openpty()  # the first deploy asks a person, holding the lock
    try:
        deploys.start("first", stdin=terminal)
        deploys.says("first", r"Deploy these changes to staging\?")
        deploys.start("second", "--yes")
        deploys.waits("second", "first", 1)
        deploys.start("third", "--yes")
        deploys.waits("third", "first", 2)
        refused = flexor(project, "deploy", "--env", "staging", "--yes", "--lock-timeout", "0")
        os.write(person, b"y\n")
        assert deploys.finish("first") == ExitCode.OK, deploys.err("first")
    finally:
        os.close(person)
        os.close(terminal)
    assert deploys.finish("second") == ExitCode.OK, deploys.err("second")
    assert deploys.finish("third") == ExitCode.OK, deploys.err("third")
    assert "Deployed to staging: 3 create" in deploys.out("first")
    assert "No changes" in deploys.out("second") and "No changes" in deploys.out("third")
    assert refused.returncode == ExitCode.REFUSED
    first = deploys.started["first"].pid
    assert re.fullmatch(rf"error: staging is locked by another flexor operation: \S+ \(pid "
                        rf"{first}\) running `flexor deploy --env staging` for \d+m\d\ds, since "
                        r"\S+; wait for it to finish \(deploy and rollback wait in line for it "
                        r"unless given --lock-timeout 0\)\n", refused.stderr.splitlines(True)[-1])
