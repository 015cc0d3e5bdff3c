"""A server's chores (the applier of managed requests) run at start and then every so often,
each on a thread of its own: one that takes long never holds up the clock loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from flexor_iac.serve.chores import on_thread
from tests.helpers.flexor_serve import deploy, scheduled, service
from tests.helpers.waiting import eventually_async


def test_a_long_chore_does_not_hold_up_the_triggers(project: Path) -> None:
    scheduled(project, "every-minute", "* * * * *")
    deploy(project)
    release = threading.Event()
    started: list[str] = []

    def chore() -> None:
        started.append(threading.current_thread().name)
        release.wait(30)

    server = service(project, poll=0.05)
    server.chores = [(0.05, chore)]

    async def go() -> None:
        await server.start()
        try:
            await eventually_async(lambda: _true(bool(started)), "the chore did not run at start")
            looked = server.alive
            await eventually_async(lambda: _true(server.alive != looked),
                                   "the clock loop waited for the chore")
            assert len(started) == 1  # still the first run: the next waits for it to end
            release.set()
            await eventually_async(lambda: _true(len(started) >= 2), "no second run")
        finally:
            release.set()
            await server.stop()
    asyncio.run(go())
    assert set(started) == {"flexor-serve-chore"}


def test_a_failing_chore_raises_where_it_is_awaited_and_can_run_again() -> None:
    calls: list[int] = []

    def chore() -> None:
        calls.append(1)
        raise RuntimeError("the database is gone")

    async def go() -> None:
        run = on_thread(chore)
        for _ in range(2):
            try:
                await run()
            except RuntimeError as error:
                assert str(error) == "the database is gone"
    asyncio.run(go())
    assert len(calls) == 2


async def _true(value: bool) -> bool:
    return value
