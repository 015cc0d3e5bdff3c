"""The render pool: templates no sandbox rule foresees are stopped by the OS backstop (a memory
cap, a time limit), the run fails as an attempt, and the next rendering works."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.language import render_pool
from flexor_iac.language.render_pool import (
    ProcessPoolBackend,
    RenderError,
    RenderTimedOut,
    render,
)
from flexor_iac.runtime.executor import Executor, RunRequest
from tests.helpers.project import write_agent
from tests.helpers.runtime import install

pytestmark = pytest.mark.engine  # the pool's workers are processes

# 10^10 comparisons inside one C call per item: minutes of CPU (tests/language/test_bombs.py
# holds the whole corpus).
TIME_BOMB = "{{ range(100000)|map('string')|select('in', range(100000)|list)|list|length }}"


def _others() -> set[multiprocessing.process.BaseProcess]:
    """This process's children now: another pool's workers, before the test's pool starts."""
    return set(multiprocessing.active_children())


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessPoolBackend]:
    """A pool of its own (one worker: a replaced worker is the only one), 1 s per rendering."""
    monkeypatch.setattr(render_pool, "RENDER_SECONDS", 1.0)
    others = _others()
    backend = ProcessPoolBackend(workers=1)
    last = render_pool.use(backend)
    yield backend
    render_pool.use(last)
    backend.stop()
    assert set(multiprocessing.active_children()) <= others  # no worker is left behind


def test_a_stopped_worker_is_replaced_and_the_next_rendering_works(
        pool: ProcessPoolBackend) -> None:
    others = _others()  # the pool starts its worker on its first rendering, below
    with pytest.raises(RenderError, match=r"ran longer than 1 s \(a template's limit\)$"):
        render(TIME_BOMB, {})
    assert render("{{ n * 2 }}", {"n": 1}) == 2
    for worker in set(multiprocessing.active_children()) - others:  # between two renderings
        os.kill(worker.pid or 0, signal.SIGKILL)
        worker.join()
    assert render("{{ n * 2 }} {{ now().year }}", {"n": 1, "now": lambda: datetime.now(UTC)}) \
        .startswith("2 20")


def test_a_rendering_past_the_attempts_deadline_times_the_attempt_out(
        project: Path, pool: ProcessPoolBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_pool, "RENDER_SECONDS", 60.0)
    write_agent(project, "probe", "  - skill: core.audit.log\n    args:\n"
                f"      event: \"{TIME_BOMB}\"\n    optional: true\n",
                retry="timeout_seconds: 1\n")
    record = Executor(ProjectPaths(project), install(project, Environment.STAGING), environ={},
                      sleep=lambda _s: None).run(RunRequest(Environment.STAGING, "probe"))
    assert (record.status, record.outputs["audit_log"]) == ("failed", [])  # not tolerated
    assert "timed out while rendering a template: the attempt ran past its timeout_seconds " \
           "(1 s)" in record.errors[0]


def test_only_plain_data_travels(pool: ProcessPoolBackend) -> None:
    assert render("{{ namespace(a=1) }}", {}) == {"a": 1}
    assert render({"k": ["{{ a.b|list }}", 3], "plain": "x"},
                  {"a": {"b": (1,)}, "unused": threading.Lock()}) == {"k": [[1], 3], "plain": "x"}
    with pytest.raises(RenderError, match="its context cannot be passed"):
        render("{{ [a]|string }}", {"a": threading.Lock()})


def test_what_only_reads_values_starts_no_worker() -> None:
    backend = ProcessPoolBackend()
    last = render_pool.use(backend)
    try:
        assert render({"a": ["b", 1]}, {}) == {"a": ["b", 1]}
        assert render({"a": "{{ x.y }} at {{ now() }}", "b": "{{ !x.z }}"},
                      {"x": {"y": 1, "z": True}, "now": lambda: "noon"}) == \
            {"a": "1 at noon", "b": False}
        assert backend._pool is None
    finally:
        render_pool.use(last)


def test_no_time_left_is_a_timeout_at_once(pool: ProcessPoolBackend) -> None:
    with pytest.raises(RenderTimedOut, match="no time left to render it"):
        render(TIME_BOMB, {}, seconds=0)
    assert pool._pool is None  # no worker was asked


def test_an_answer_the_pool_loses_is_a_render_error_not_a_wait_for_ever(
        pool: ProcessPoolBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_pool, "ANSWER_GRACE", 0.1)
    lost = pool._started()
    monkeypatch.setattr(lost, "schedule", lambda *_args, **_kwargs: Future())
    with pytest.raises(RenderError, match="the render workers did not answer"):
        render("{{ n * 2 }}", {"n": 1})
    assert pool._pool is None  # replaced: the next rendering starts a new one
    assert render("{{ n * 2 }}", {"n": 1}) == 2


def test_renderings_that_find_the_pool_broken_at_once_replace_it_once(
        pool: ProcessPoolBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    assert render("{{ n * 2 }}", {"n": 5}) == 10  # the pool is running
    broken = pool._started()
    together = threading.Barrier(4)

    def refused(*_args: object, **_kwargs: object) -> Future[bytes]:
        together.wait(timeout=30)  # all four renderings see the same broken pool
        raise RuntimeError("The Pool is not active")

    monkeypatch.setattr(broken, "schedule", refused)
    results: list[object] = []

    def rendering(n: int) -> None:
        try:
            results.append(render("{{ n * 2 }}", {"n": n}))
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=rendering, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(repr, results)) == ["0", "2", "4", "6"]  # each on the new pool
