"""Work a server does beside its triggers, every so often, on a thread of its own so that it
never holds up schedules and webhooks (the applier of PLEXI-managed requests: a deploy takes
minutes)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

# (seconds between two runs, the work): run at start, then `seconds` after each run ends.
Chore = tuple[float, Callable[[], Any]]


def on_thread(work: Callable[[], Any], name: str = "flexor-serve-chore"
              ) -> Callable[[], Awaitable[None]]:
    """`work` as a coroutine that runs it on a daemon thread: a server stopping does not wait
    for it (what it started carries on on its own: a deploy is a process of its own)."""
    async def run() -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        def target() -> None:
            error: BaseException | None = None
            try:
                work()
            except BaseException as failure:  # said by the loop that awaits it
                error = failure
            with contextlib.suppress(RuntimeError):  # a closed loop: the server stopped
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=target, name=name, daemon=True).start()
        await done
    return run
