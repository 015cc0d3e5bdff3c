"""Waiting for something to become true: one polling loop for the whole suite. Its timeouts
bound a failure (how long to wait before saying what never happened), never a speed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


Message = str | Callable[[], str]


def eventually(check: Callable[[], T | None], message: Message, timeout: float = 30.0,
               interval: float = 0.05) -> T:
    """`check()`'s first value that is neither None nor False, asked every `interval` seconds;
    the test fails with `message` (or what `message()` says then) if there is none within
    `timeout` seconds. An exception from `check` fails it at once."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None and found is not False:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(message, timeout))
        time.sleep(interval)


async def eventually_async(check: Callable[[], Awaitable[T | None]], message: Message,
                           timeout: float = 30.0, interval: float = 0.05) -> T:
    """`eventually` for a coroutine check, waiting without blocking the event loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await check()
        if found is not None and found is not False:
            return found
        if loop.time() >= deadline:
            raise AssertionError(_timed_out(message, timeout))
        await asyncio.sleep(interval)


def _timed_out(message: Message, timeout: float) -> str:
    return f"{message if isinstance(message, str) else message()} (waited {timeout:g} s)"
