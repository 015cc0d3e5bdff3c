"""The suite's one polling loop: what `eventually` returns, and how it fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.helpers.waiting import eventually, eventually_async


def _answers(*values: object) -> Iterator[object]:
    yield from values
    raise AssertionError("asked once too often")


def test_the_first_value_that_is_neither_none_nor_false_is_returned() -> None:
    answers = _answers(None, False, [], "found")
    assert eventually(lambda: next(answers), "never", interval=0) == []


def test_running_out_of_time_fails_with_the_message_as_it_is_then() -> None:
    asked: list[int] = []
    with pytest.raises(AssertionError) as failed:
        eventually(lambda: asked.append(1), lambda: f"still nothing after {len(asked)} asks",
                   timeout=0.01, interval=0.005)
    assert str(failed.value) == f"still nothing after {len(asked)} asks (waited 0.01 s)"
    assert len(asked) >= 2  # asked again after the first no, and once more at the deadline


def test_an_exception_from_the_check_fails_at_once() -> None:
    answers = _answers(None, None)
    with pytest.raises(AssertionError, match="asked once too often"):
        eventually(lambda: next(answers), "never", timeout=3600, interval=0)


def test_the_async_form_waits_on_the_event_loop() -> None:
    answers = _answers(None, 7)

    async def check() -> object:
        return next(answers)
    assert asyncio.run(eventually_async(check, "never", interval=0)) == 7

    async def never() -> None:
        return None
    with pytest.raises(AssertionError, match=r"^no queue \(waited 0.01 s\)$"):
        asyncio.run(eventually_async(never, "no queue", timeout=0.01, interval=0.005))
