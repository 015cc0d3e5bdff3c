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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from flexor_iac.access.policy import REQUIRE_VARIABLE
from flexor_iac.core.constants import ExitCode
from flexor_iac.remote.settings import HERE

MAX_LINE = 1 << 20
KEEPALIVE = 15.0  # seconds of silence before an `alive` event
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
                REQUIRE_VARIABLE: "1",  # the key's scopes and roles decide on every environment
                "PYTHONSAFEPATH": "1",  # the client's files are never on the import path
                "FLEXOR_DATABASE_URL": invocation.database_url,
                "FLEXOR_PROJECT_DIR": str(invocation.workspace),
                "FLEXOR_API_KEY": invocation.token, "FLEXOR_ACTOR": invocation.user,
                "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"})
    return env


def event(**fields: object) -> bytes:
    """One event line."""
    return json.dumps(fields).encode() + b"\n"


Finish = Callable[[int], Awaitable[list[bytes]]]  # after the verb: more events, cleanup


class Runner:
    """Runs verbs, at most `limit` at once (the others wait their turn). Each verb runs in a
    task of its own that holds its slot until its process has ended, whether or not its
    client still listens: a client that hangs up frees no slot early."""

    def __init__(self, limit: int = 8) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._running: set[asyncio.Task[None]] = set()

    async def stream(self, invocation: Invocation, read_only: bool,
                     rewrite: dict[str, str] | None = None,
                     finish: Finish | None = None) -> AsyncIterator[bytes]:
        """The verb's output events, then its exit (`{"alive": true}` after KEEPALIVE seconds
        of silence, so a client can tell a quiet verb from a lost server). `rewrite` replaces
        text in its lines (a server path by what the client knows it as); `finish` runs once
        the process has ended, before the exit event. When the client goes away a verb that
        only reads is stopped; one that changes something runs to its end."""
        events: asyncio.Queue[bytes | None] = asyncio.Queue()
        stop = asyncio.Event()
        task = asyncio.create_task(self._run(invocation, rewrite or {}, finish, events, stop))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(events.get(), KEEPALIVE)
                except TimeoutError:
                    yield event(alive=True)
                    continue
                if item is None:
                    return
                yield item
        finally:
            if read_only:
                stop.set()

    async def _run(self, invocation: Invocation, rewrite: dict[str, str], finish: Finish | None,
                   events: asyncio.Queue[bytes | None], stop: asyncio.Event) -> None:
        try:
            async with self._slots:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "flexor_iac.main", *invocation.argv,
                    cwd=invocation.workspace, env=child_environment(invocation),
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE, limit=MAX_LINE)
                readers = [asyncio.create_task(_read(process.stdout, "out", rewrite, events)),
                           asyncio.create_task(_read(process.stderr, "err", rewrite, events))]
                ended = asyncio.create_task(process.wait())
                stopped = asyncio.create_task(stop.wait())
                await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not ended.done():
                    process.terminate()
                stopped.cancel()
                code = await ended
                await asyncio.gather(*readers, return_exceptions=True)
                for extra in await finish(code) if finish else []:
                    await events.put(extra)
                await events.put(event(exit=code if code >= 0 else int(ExitCode.INTERNAL)))
        finally:
            await events.put(None)


async def _read(pipe: asyncio.StreamReader | None, name: str, rewrite: dict[str, str],
                events: asyncio.Queue[bytes | None]) -> None:
    assert pipe is not None
    while True:
        try:
            raw = await pipe.readline()
        except ValueError:  # a line past MAX_LINE: the reader dropped it; read on
            await events.put(event(**{name: "(a line longer than 1 MiB was cut)"}))
            continue
        if not raw:
            return
        text = raw.decode(errors="replace").rstrip("\n")
        for old, new in rewrite.items():
            text = text.replace(old, new)
        await events.put(event(**{name: text}))
