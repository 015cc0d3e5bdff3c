"""The team server as a team runs it: `flexor serve` in a process of its own holding the
database URL and the passphrase, and clients that hold only FLEXOR_SERVER and a key — no
FLEXOR_DATABASE_URL, no PULUMI_* variable, no `pulumi` on PATH."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.waiting import eventually

PASSPHRASE = "the-team-passphrase"
FLEXOR = str(Path(sys.executable).parent / "flexor")
_LISTENING = re.compile(r"on (https?://[^/\s]+)")


def server_environment(database: str, **extra: str) -> dict[str, str]:
    """What the server holds: the database and the passphrase."""
    return dict(os.environ, FLEXOR_DATABASE_URL=database, PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
                **extra)


def client_environment(server: str, key: str | None = None, **extra: str) -> dict[str, str]:
    """What a CI job holds: the server's address and a key, and nothing of the team's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULUMI_", "FLEXOR_"))}
    env["PATH"] = "/usr/bin:/bin"  # no .tools/bin: no pulumi
    env["FLEXOR_SERVER"] = server
    if key is not None:
        env["FLEXOR_API_KEY"] = key
    env.update(extra)
    return env


def clone(project: Path, where: Path) -> Path:
    """Another checkout of the project: its files, no `.flexor/`."""
    shutil.copytree(project, where, ignore=shutil.ignore_patterns(".flexor"))
    return where


def on_server(root: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`flexor ARGS` where the database is (an operator on the server's machine)."""
    return subprocess.run([FLEXOR, *args], cwd=root, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL,
                          env=server_environment(database))


def client(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`flexor ARGS` on a client, in its checkout."""
    return subprocess.run([FLEXOR, *args], cwd=root, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL, env=env)


@dataclass
class Served:
    """A running team server: where it listens, its process (the leader of its group)."""

    address: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the server and every process it started, as a machine that dies would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def team_server(root: Path, database: str, *args: str, log: str = "serve.log",
                **extra: str) -> Iterator[Served]:
    """`flexor serve --port 0 ARGS` on the server's checkout `root` (in a process group of
    its own; `extra`: more variables of its environment, such as FLEXOR_CLOCK)."""
    logged = root / log
    with logged.open("w") as output:
        process = subprocess.Popen([FLEXOR, "serve", "--port", "0", *args], cwd=root,
                                   stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL,
                                   env=server_environment(database, **extra),
                                   start_new_session=True)
    try:
        def listening() -> str | None:
            assert process.poll() is None, logged.read_text()
            found = _LISTENING.search(logged.read_text())
            return found.group(1) if found else None
        yield Served(eventually(listening, "the server never said where it listens",
                                timeout=60), process)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
