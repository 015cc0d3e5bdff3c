"""The interpreter of one `flexor` command: tuned at the start, ended without teardown."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable
from typing import NoReturn

_AT_FINISH: list[Callable[[], None]] = []  # what `finish` does before the process ends


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
