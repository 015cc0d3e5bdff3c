"""How a `flexor` process starts and ends: settings that only pay off for a whole command."""

from __future__ import annotations

import contextlib
import gc
import os
import select
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

_AT_FINISH: list[Callable[[], None]] = []


def prepare() -> None:
    """Tune the interpreter for one command (main() calls this first)."""
    # flexor uses no pydantic plugins; skipping their discovery (a scan of every installed
    # distribution's entry points) saves tens of milliseconds on every command.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # A command builds large object graphs (parsed files, models) and leaves little cyclic
    # garbage; collecting every 700 allocations rescans them over and over (a fifth of
    # `flexor validate` on a large project). Collect far less often, as mypy does.
    gc.set_threshold(200_000, 30, 30)


def at_finish(action: Callable[[], None]) -> None:
    """Have `finish` call `action` before it ends the process (atexit handlers do not run)."""
    if action not in _AT_FINISH:
        _AT_FINISH.append(action)


def finish(code: int) -> NoReturn:
    """End the process with `code` once output is flushed, skipping interpreter teardown.

    Freeing a large project's objects one by one at exit costs as much as a fifth of `flexor
    validate`. Nothing flexor leaves depends on that teardown (files and control-plane
    connections are closed where they are used; engine calls clean up after themselves), so
    the console script ends without it, as mypy's does. What must not outlive the command
    (worker processes) is stopped first: see `at_finish`.
    """
    for action in _AT_FINISH:
        action()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the name (state, ppid, …); [] when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after it
    return stat.rsplit(")", 1)[1].split()


def _parent_of(pid: int) -> int:
    """The parent pid of `pid` (0 when it cannot be read)."""
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def alive(pid: int) -> bool:
    """Whether a process of this host runs (a zombie, dead but not yet reaped, does not)."""
    fields = _stat(pid) if pid > 0 else []
    return bool(fields) and fields[0] not in ("Z", "X")


def lineage() -> set[int]:
    """The pids of this process, its parent, its parent's parent, … up to init."""
    found: set[int] = set()
    pid = os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        pid = _parent_of(pid)
    return found


def _name_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


_watching = False


def end_with_engine() -> None:
    """In a dynamic-provider process: exit as soon as the Pulumi engine that started it does.

    The engine starts providers through a shell shim that does not `exec`, so a provider's
    parent is the shim and a killed engine (kill -9) would leave it running on the stack. The
    engine is the nearest ancestor named `pulumi`; a thread waits on a pidfd for it to end.
    """
    global _watching
    if _watching:
        return
    _watching = True
    engine = os.getppid()
    for _ in range(3):
        if _name_of(engine).startswith("pulumi") and not _name_of(engine).startswith(
                "pulumi-"):
            break
        engine = _parent_of(engine)
    else:
        return  # not started by an engine (a test, a shell): nothing to watch
    if engine <= 1 or not hasattr(os, "pidfd_open"):
        return
    try:
        handle = os.pidfd_open(engine)
    except OSError:  # already gone
        os._exit(1)

    def wait() -> None:
        select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=wait, name="end-with-engine", daemon=True).start()


TETHER = """#!/bin/sh
# Written by flexor: the Pulumi engine ends with the flexor process that started it
# (kill -9 included), so no orphaned engine keeps working on a stack.
exec {setpriv} --pdeathsig KILL -- {pulumi} "$@"
"""


def tethered_pulumi(real: Path, folder: Path) -> Path:
    """A `pulumi` in `folder` that runs `real` with a parent-death signal (setpriv(1)).

    Returns `real` itself where setpriv is missing. The Automation API starts the CLI from
    the calling (main) thread, whose end is what the kernel watches.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return real
    wrapper = folder / "pulumi"
    text = TETHER.format(setpriv=setpriv, pulumi=real)
    if not wrapper.is_file() or wrapper.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".pulumi.{os.getpid()}"
        scratch.write_text(text)
        scratch.chmod(0o755)
        scratch.replace(wrapper)
    return wrapper
