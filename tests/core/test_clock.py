"""FLEXOR_CLOCK: a process's clock starts at a given moment and moves with real time, and the
processes it starts inherit the very same clock; `frozen` still wins."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from flexor_iac.core import clock
from flexor_iac.core.errors import UsageError

START = datetime(2026, 3, 13, 1, 59, 30, tzinfo=UTC)


def test_without_the_variable_the_clock_is_the_real_one() -> None:
    assert not clock.simulated()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_clock_starts_at_the_moment_and_moves_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_CLOCK", "2026-03-12T21:59:30-04:00")
    first = clock.now()
    assert clock.simulated() and START <= first < START + timedelta(seconds=5)
    assert clock.now() >= first
    anchored = os.environ["FLEXOR_CLOCK"]  # the real moment it started is written down
    assert anchored.startswith("2026-03-12T21:59:30-04:00 at ")
    with clock.frozen(START - timedelta(days=1)):
        assert clock.now() == START - timedelta(days=1)


@pytest.mark.engine  # it starts a Python process
def test_a_child_process_keeps_the_same_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_CLOCK", "2026-03-12T21:59:30-04:00")
    first = clock.now()
    child = subprocess.run([sys.executable, "-c", "from flexor_iac.core import clock; "
                            "print(clock.now().isoformat())"], check=True, text=True,
                           capture_output=True, env=dict(os.environ))
    inherited = datetime.fromisoformat(child.stdout.strip())
    assert first <= inherited < START + timedelta(seconds=30)


def test_a_naive_moment_is_utc_and_a_bad_one_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXOR_CLOCK", "2026-03-13T01:59:30")
    assert START <= clock.now() < START + timedelta(seconds=5)
    monkeypatch.setenv("FLEXOR_CLOCK", "next tuesday")
    with pytest.raises(UsageError, match="FLEXOR_CLOCK='next tuesday' is not an ISO-8601"):
        clock.now()
