"""`flexor status` against `flexor validate` on the same project (embedded store), side by
side: right after the first deploy, and again after 40 more deploys (a longer history must not
make status slower). Goal (issue 28): status at most 1.5x validate, and within 1.25x of its
first figure after the 40 deploys.

Run: .venv/bin/python -m bench.status_speed
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import copy_example

FLEXOR = str(Path(sys.executable).parent / "flexor")
RUNS = 7


def _run(root: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([FLEXOR, *args], cwd=root, capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"flexor {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def _side_by_side(root: Path) -> tuple[float, float]:
    status, validate = [], []
    for _ in range(RUNS):  # alternated, so a drift of the machine's speed hits both
        status.append(_run(root, "status", "--env", "staging"))
        validate.append(_run(root, "validate"))
    return statistics.median(status), statistics.median(validate)


def _bump(root: Path, n: int) -> None:
    agent = root / "agents" / "feed-monitor.yaml"
    text = agent.read_text()
    start = text.index('version: "') + len('version: "')
    agent.write_text(text[:start] + f"1.{n}" + text[text.index('"', start):])


def main() -> int:
    """Measure and print; exit 1 when a goal is not met."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        copy_example(root)
        _run(root, "sync", "--all")
        _run(root, "deploy", "--env", "staging", "--yes")
        first, validate = _side_by_side(root)
        for n in range(1, 41):
            _bump(root, n)
            _run(root, "deploy", "--env", "staging", "--yes")
        later, validate_later = _side_by_side(root)
    print(f"seconds (median of {RUNS}), embedded store, staging")
    print(f"after 1 deploy:   status {first:.3f}  validate {validate:.3f}  "
          f"ratio {first / validate:.2f}x (goal <= 1.5x)")
    print(f"after 41 deploys: status {later:.3f}  validate {validate_later:.3f}  "
          f"ratio {later / validate_later:.2f}x; status {later / first:.2f}x its first "
          "figure (goal <= 1.25x)")
    return 0 if first / validate <= 1.5 and later / first <= 1.25 else 1


if __name__ == "__main__":
    sys.exit(main())
