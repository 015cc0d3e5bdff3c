"""The Pulumi engine lives no longer than what started it, in both directions: the engine
ends with the flexor process that runs it, and a dynamic-provider process with its engine."""

from __future__ import annotations

import os
import select
import shutil
import threading
from pathlib import Path

from flexor_iac.core.procfs import name_of, parent_of
from flexor_iac.core.workspace import private_dir

_watching = False


def engine_pid() -> int | None:
    """In a dynamic-provider process: the Pulumi engine that started it, the nearest of the
    first three ancestors named `pulumi` (None when an engine did not start this process)."""
    engine = os.getppid()
    for _ in range(3):
        if name_of(engine).startswith("pulumi") and not name_of(engine).startswith("pulumi-"):
            return engine if engine > 1 else None
        engine = parent_of(engine)
    return None


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
    engine = engine_pid()
    if engine is None or not hasattr(os, "pidfd_open"):
        return  # not started by an engine (a test, a shell): nothing to watch
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
        private_dir(folder)
        scratch = folder / f".pulumi.{os.getpid()}"
        scratch.write_text(text)
        scratch.chmod(0o755)
        scratch.replace(wrapper)
    return wrapper
