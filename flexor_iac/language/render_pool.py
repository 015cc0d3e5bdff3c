"""Templates are rendered in worker processes the operating system holds to a memory cap, and
stopped at a time limit: a backstop no template can find a way around.

The sandbox (language/sandbox.py) decides what a template may touch and checks what it
produces; it cannot foresee every way a template may spend memory or time (a C loop that a
tracer does not see, a chain of slices no size rule counts). So each rendering runs in a worker
of a pebble ProcessPool (spawned, not forked: the process has threads) whose address space is
capped with RLIMIT_AS (RENDER_MEMORY above what the worker holds at start), and is given
min(the time its caller has left, RENDER_SECONDS). A worker that runs out of time is killed and
replaced by the pool; one that runs out of memory fails the rendering with MemoryError (or
dies and is replaced). The caller gets a RenderError saying which limit was broken, or
RenderTimedOut when the time that ran out was its own (the attempt's deadline).

Only plain data travels: the template texts, and the context values the templates read
(`now` and other callables are called first: the worker gets their value). The pool starts
once per process, on the first value that needs it; `warm()` starts it ahead. A template that
only reads a value (`{{ inputs.fund }}`, `{{ !result.is_fresh }}`: templates.is_reference),
or whose cost is bounded by what it reads (`{{ inputs.n + 1 }}`: language/bounded.py) when
that is small, cannot spend much and is rendered where it is asked for, without a worker.

Tests that start no process use `InProcess` (tests/conftest.py installs it with `use`): the
same sandbox and checks, without the backstop.
"""

from __future__ import annotations

import atexit
import gc
import math
import os
import pickle
import resource
import threading
from collections.abc import Mapping
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flexor_iac.core import interpreter
from flexor_iac.language.bounded import is_bounded, reads_little
from flexor_iac.language.limits import RENDER_MEMORY, RENDER_SECONDS, size_words
from flexor_iac.language.templates import (
    RenderError,
    is_reference,
    is_template,
    names_read_by,
    templates_in,
)

MAX_WORKERS = 4  # renders are short; more workers than cores only share the same cores
ANSWER_GRACE = 30.0  # past a rendering's time: for a worker to start on a loaded machine


class RenderTimedOut(RenderError):
    """A rendering ran past the time its caller had left (not the template's own limit)."""


class Backend(Protocol):
    """Where renderings run."""

    def render(self, value: Any, context: Mapping[str, Any], seconds: float) -> Any:
        """`value` rendered; RenderError (RenderTimedOut past `seconds`)."""

    def warm(self) -> None:
        """Get ready to render (start workers) without waiting."""


class InProcess:
    """Renders in the calling thread: the sandbox and its checks, without the OS backstop."""

    def render(self, value: Any, context: Mapping[str, Any], seconds: float) -> Any:
        from flexor_iac.language.sandbox import evaluate

        return evaluate(value, context)

    def warm(self) -> None:
        pass


@dataclass(frozen=True)
class Instant:
    """What `now()` returns in a worker: the caller's time when the rendering was asked for."""

    value: datetime

    def __call__(self) -> datetime:
        return self.value


def _start_worker() -> None:
    """A new worker: the templates imported, then its address space capped."""
    import flexor_iac.language.sandbox  # noqa: F401  (jinja2 and the sandbox, before the cap)

    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status
                    if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + RENDER_MEMORY, size + RENDER_MEMORY))


def _render_in_worker(value: Any, context: Mapping[str, Any]) -> bytes:
    """`evaluate` in a worker, its result pickled here so that a value that cannot travel is a
    RenderError, not a broken pool."""
    from flexor_iac.language.sandbox import evaluate

    try:
        return pickle.dumps(evaluate(value, context))
    except RenderError as error:
        failure = str(error)
    except MemoryError:  # while pickling
        failure = f"{_named(value)}: out of memory (a template may use " \
                  f"{size_words(RENDER_MEMORY)})"
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        failure = f"{_named(value)}: its value cannot be passed on ({error})"
    # Out of the handler, the failure's frames are let go: what the template held (in cycles
    # with them) is freed now, not when the collector next runs, and the next rendering has
    # the whole cap again.
    gc.collect()
    raise RenderError(failure)


def _named(value: Any) -> str:
    """How a failure names what was rendered: its template, or its first of several."""
    found = templates_in(value)
    first = found[0].strip() if found else str(value)
    return first if len(found) <= 1 else f"{first} (or another template of these {len(found)})"


class ProcessPoolBackend:
    """Renders in a pebble ProcessPool of spawned, capped workers; started on first use.

    One worker unless `expect` says more renderings run at once (`flexor serve`): a command
    renders one step at a time, and each worker costs a Python start with Jinja imported."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: Any = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        self._started()

    def expect(self, renderings: int) -> None:
        """Size the pool for `renderings` at once, if it has not started yet."""
        with self._lock:
            if self._pool is None:
                self.workers = max(1, min(renderings, os.cpu_count() or 1, MAX_WORKERS))

    def _started(self) -> Any:
        with self._lock:
            if self._pool is None:
                import multiprocessing

                from pebble import ProcessPool

                self._pool = ProcessPool(self.workers, initializer=_start_worker,
                                         context=multiprocessing.get_context("spawn"))
                atexit.register(self.stop)
                interpreter.at_finish(self.stop)  # the CLI ends with os._exit: no atexit
            return self._pool

    def stop(self) -> None:
        """Stop the workers and wait for them (no process is left behind)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join()

    def render(self, value: Any, context: Mapping[str, Any], seconds: float) -> Any:
        if seconds <= 0:
            raise RenderTimedOut(f"{_named(value)}: no time left to render it")
        names = names_read_by(value)
        sent = {name: Instant(item()) if callable(item) else item
                for name, item in context.items() if name in names}
        try:
            return pickle.loads(self._result(value, sent, min(seconds, RENDER_SECONDS)))
        except FutureTimeout:
            if seconds <= RENDER_SECONDS:
                raise RenderTimedOut(f"{_named(value)}: ran past the attempt's time") from None
            raise RenderError(f"{_named(value)}: ran longer than {RENDER_SECONDS:g} s "
                              "(a template's limit)") from None

    def _result(self, value: Any, sent: dict[str, Any], timeout: float) -> bytes:
        """The worker's answer; a broken pool (a worker that died between two renderings) is
        replaced and the rendering given to the new one (renderings have no side effects)."""
        from concurrent.futures.process import BrokenProcessPool

        from pebble import ProcessExpired

        for last in (False, True):
            pool = self._started()
            try:
                future = pool.schedule(_render_in_worker, (value, sent), timeout=timeout)
                return bytes(self._answer(future, pool, timeout))
            except (RuntimeError, BrokenProcessPool, CancelledError):  # stopped under it
                self._replace(pool)
                if last:
                    raise RenderError(f"{_named(value)}: the render workers failed") from None
            except ProcessExpired as error:
                raise RenderError(f"{_named(value)}: its worker process ended (exit code "
                                  f"{error.exitcode}: over the memory limit?)") from None
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                raise RenderError(f"{_named(value)}: its context cannot be passed to a "
                                  f"worker ({error})") from None
        raise AssertionError("unreachable")

    def _answer(self, future: Any, pool: Any, timeout: float) -> Any:
        """The future's result; one the pool loses (no answer long after its time) is a
        RenderError and the pool replaced: a caller never waits for ever."""
        try:
            return future.result(timeout=timeout + ANSWER_GRACE)
        except FutureTimeout:
            if future.done():  # the pool stopped the rendering at its time: the caller says
                raise
            future.cancel()
            self._replace(pool)
            raise RenderError("the render workers did not answer") from None

    def _replace(self, broken: Any) -> None:
        """Let the next rendering start a new pool; the thread that takes `broken` out stops
        it, once (renderings that found it broken at the same time only move on: pebble's stop
        and join run twice at once fail on its closed channels)."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = None
        broken.stop()
        broken.join()


_backend: Backend = ProcessPoolBackend()


def use(backend: Backend) -> Backend:
    """Render with `backend` from now on (tests: InProcess); the one used until now."""
    global _backend
    last, _backend = _backend, backend
    return last


def needs_worker(value: Any) -> bool:
    """Whether `value` holds a template whose cost is not bounded by what it reads (neither a
    reference nor bounded.is_bounded): it renders in a worker."""
    return any(not is_reference(text) and not is_bounded(text) for text in templates_in(value))


def warm() -> None:
    """Start the workers ahead of the first rendering (a run about to start)."""
    _backend.warm()


def expect(renderings: int) -> None:
    """Renderings will run `renderings` at once (`flexor serve`'s run workers): size the pool
    for them (at most the cores, at most MAX_WORKERS) before it starts."""
    if isinstance(_backend, ProcessPoolBackend):
        _backend.expect(renderings)


def render(value: Any, context: Mapping[str, Any], seconds: float = math.inf) -> Any:
    """Render every template in `value` (strings inside dicts and lists too), with at most
    `seconds` (the caller's time left): see templates.evaluate for what a value becomes.

    A value without a template is returned as it is; one whose templates only read values
    (`{{ inputs.fund }}`), or are bounded (`{{ inputs.n + 1 }}`: language/bounded.py) and read
    at most MAX_READ, is rendered here: none of them needs a worker.
    """
    texts = templates_in(value)
    if not texts:
        return value
    if all(is_reference(text) for text in texts) or \
            (not needs_worker(value) and reads_little(value, context)):
        from flexor_iac.language.sandbox import evaluate

        return evaluate(value, context)
    return _backend.render(value, context, seconds)


__all__ = [
    "InProcess",
    "ProcessPoolBackend",
    "RenderError",
    "RenderTimedOut",
    "expect",
    "is_template",
    "needs_worker",
    "render",
    "use",
    "warm",
]
