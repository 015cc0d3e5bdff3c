"""What rendering templates costs: one step's arguments, a process's first render, and
webhook-triggered runs per second on `flexor serve` (embedded store, one server) with a plain
task and with a templated one.

  render:     a step's arguments (three templates, a plain value) rendered RENDERS times with a
              changing context, through the render pool and in this process -> microseconds
              per render (median of ROUNDS rounds).
  first:      a fresh interpreter imports the templates and renders once, its pool started
              (`python -c`; start-up of the interpreter itself subtracted) -> milliseconds.
  webhooks:   bench/serve_speed.py's webhooks (300 POSTs, 16 at a time, one server, 4 workers),
              the task's event plain (`bench`), a template that reads values (`{{ inputs.n }}
              …`), one that computes within bounds (`{{ inputs.n + 1 }} …`, in process:
              decision 024) and one a worker renders (`{{ inputs.n * 2 }} …`) -> runs/s.
No goal is set: the numbers are for reading (docs/decisions/017-render-backstop.md).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.serve_speed import webhooks
from flexor_iac.language.render_pool import render
from flexor_iac.language.sandbox import evaluate

RENDERS = 2000
ROUNDS = 5
ARGS = {"event": "feed {{ inputs.n }} checked in {{ env.REGION }}",
        "details": {"n": "{{ inputs.n }}", "fresh": "{{ inputs.n * 2 < 100 && !stale }}"},
        "channel": "#ops"}
EVENTS = {"plain": "bench",                                       # no template
          "reading": '"n={{ inputs.n }} at {{ now() }}"',          # reads values only
          "computing": '"n+1={{ inputs.n + 1 }} at {{ now() }}"',  # bounded: in process
          "worker": '"n*2={{ inputs.n * 2 }} at {{ now() }}"'}     # `*`: a worker renders it
FIRST = "from flexor_iac.language.render_pool import render; render('{{ a * 2 }}', {'a': 1})"


def per_render(function: Callable[[Any, dict[str, Any]], Any]) -> float:
    """Microseconds to render ARGS once with `function` (median round)."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for n in range(RENDERS):
            function(ARGS, {"inputs": {"n": n}, "env": {"REGION": "eu"}, "stale": False})
        rounds.append((time.perf_counter() - start) / RENDERS * 1e6)
    return statistics.median(rounds)


def first_render() -> float:
    """Milliseconds a fresh process spends to import the templates and render once."""
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start
    bare = statistics.median(timed("pass") for _ in range(ROUNDS))
    return (statistics.median(timed(FIRST) for _ in range(ROUNDS)) - bare) * 1000


def main() -> int:
    """Measure and print."""
    print(f"render one step's arguments: {per_render(render):8.1f} µs (in a worker)")
    print(f"render one step's arguments: {per_render(evaluate):8.1f} µs (in this process)")
    print(f"first render in a new process: {first_render():6.0f} ms")
    with tempfile.TemporaryDirectory() as scratch:
        for name, event in EVENTS.items():
            rate = webhooks(Path(scratch) / name, None, 1, event)
            print(f"webhook runs, {name + ' task':<15} {rate:7.1f} runs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
