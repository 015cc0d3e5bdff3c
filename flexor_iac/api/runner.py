"""Run one verb for a client: `python -m flexor_iac.main …` in a workspace, its output
streamed back line by line as it is written (remote/protocol.py's events).

The verb runs in a process of its own, exactly as the CLI runs on one machine, with the
server's database and passphrase and the client's key: the same code decides (scopes, roles,
protections, windows, approvals) and writes the same lines with the same exit code. The
client's key becomes FLEXOR_API_KEY and its user FLEXOR_ACTOR; nothing else of the client's
reaches the process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from flexor_iac.core.constants import ExitCode
from flexor_iac.remote.settings import HERE

MAX_LINE = 1 << 20
# Variables a verb's process never takes from the server's own environment: they would point
# it at another project, server or identity than the client's.
_NOT_INHERITED = ("FLEXOR_API_KEY", "FLEXOR_PROJECT_DIR", "FLEXOR_ENV",
                  "FLEXOR_ACTOR", "FLEXOR_CONTROL_PLANE", "FLEXOR_OIDC_TOKEN")
_RELATIVE = ("PULUMI_CONFIG_PASSPHRASE_FILE",)


@dataclass(frozen=True)
class Invocation:
    """One verb to run: its arguments, where, and for whom."""

    argv: list[str]
    workspace: Path
    token: str
    user: str
    database_url: str


def child_environment(invocation: Invocation) -> dict[str, str]:
    """The verb process's environment: the server's (its passphrase, its tools), the team
    database, the workspace as the project, the client's key and user."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    for name in _RELATIVE:
        if given := env.get(name):
            env[name] = str(Path(given).absolute())
    env.update({"FLEXOR_SERVER": HERE,  # never the server again, whatever Pulumi.yaml names
                "FLEXOR_DATABASE_URL": invocation.database_url,
                "FLEXOR_PROJECT_DIR": str(invocation.workspace),
                "FLEXOR_API_KEY": invocation.token, "FLEXOR_ACTOR": invocation.user,
                "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"})
    return env


def event(**fields: object) -> bytes:
    """One event line."""
    return json.dumps(fields).encode() + b"\n"


class Runner:
    """Runs verbs, at most `limit` at once (the others wait their turn)."""

    def __init__(self, limit: int = 8) -> None:
        self._slots = asyncio.Semaphore(limit)

    async def stream(self, invocation: Invocation, read_only: bool,
                     rewrite: dict[str, str] | None = None) -> AsyncIterator[bytes]:
        """The verb's output events, then its exit. `rewrite` replaces text in its lines (a
        server path by what the client knows it as). When the client goes away a verb that
        only reads is stopped; one that changes something runs to its end."""
        async with self._slots:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "flexor_iac.main", *invocation.argv,
                cwd=invocation.workspace, env=child_environment(invocation),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=MAX_LINE)
            lines: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
            readers = [asyncio.create_task(_read(process.stdout, "out", lines)),
                       asyncio.create_task(_read(process.stderr, "err", lines))]
            try:
                open_streams = 2
                while open_streams:
                    item = await lines.get()
                    if item is None:
                        open_streams -= 1
                        continue
                    stream, text = item
                    for old, new in (rewrite or {}).items():
                        text = text.replace(old, new)
                    yield event(**{stream: text})
                code = await process.wait()
                yield event(exit=code if code >= 0 else int(ExitCode.INTERNAL))
            finally:
                if process.returncode is None:
                    if read_only:
                        process.terminate()
                    await asyncio.shield(_drain(process, readers))


async def _read(pipe: asyncio.StreamReader | None, name: str,
                lines: asyncio.Queue[tuple[str, str] | None]) -> None:
    assert pipe is not None
    try:
        while raw := await pipe.readline():
            await lines.put((name, raw.decode(errors="replace").rstrip("\n")))
    except (ValueError, asyncio.LimitOverrunError):
        await lines.put((name, "(a line longer than 1 MiB was cut)"))
    finally:
        await lines.put(None)


async def _drain(process: asyncio.subprocess.Process, readers: list[asyncio.Task[None]]) -> None:
    """Let a verb whose client went away finish, its output read and dropped."""
    await asyncio.gather(*readers, return_exceptions=True)
    await process.wait()
