"""`flexor validate` on 1,000 agents / 200 skills / 4 vaults vs the floor of parsing the files.

Both sides are whole processes, run interleaved (floor, validate, floor, …) so both see the same
machine noise; the table gives the minimum and the median of RUNS runs each:
  floor:    python -c "parse every file with yaml.CSafeLoader (vault.json with json)"
  validate: flexor validate --project-dir <project>
Goal, judged on the medians: validate under 1 second, and at most 2x the floor.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate

RUNS = 11
FLOOR = """
import json, sys, yaml
for path in open(sys.argv[1]).read().split("\\n"):
    with open(path, "rb") as handle:
        if path.endswith(".json"):
            json.load(handle)
        else:
            yaml.load(handle, Loader=yaml.CSafeLoader)
"""


def timed(command: list[str]) -> float:
    """Wall time of one run of `command`."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def interleaved(first: list[str], second: list[str]) -> tuple[list[float], list[float]]:
    """RUNS timings of each command, alternating, after one warm-up run of each."""
    timed(first), timed(second)
    pairs = [(timed(first), timed(second)) for _ in range(RUNS)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def main() -> int:
    """Generate the project, time both, print the table; exit 1 if a goal is missed."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        files = generate(root, agents=1000, skills=200)
        listing = Path(scratch) / "files.txt"
        listing.write_text("\n".join(str(f) for f in files))
        flexor = str(Path(sys.executable).parent / "flexor")
        floors, validates = interleaved([sys.executable, "-c", FLOOR, str(listing)],
                                        [flexor, "validate", "--project-dir", str(root)])
    floor, validate = statistics.median(floors), statistics.median(validates)
    ratio = validate / floor
    print(f"files: {len(files)} (1000 agents, 200 skills, 4 vaults); {RUNS} interleaved runs")
    print(f"{'':36} {'min':>7} {'median':>7}")
    print(f"{'floor (parse with CSafeLoader)':36} {min(floors):6.3f}s {floor:6.3f}s")
    print(f"{'flexor validate':36} {min(validates):6.3f}s {validate:6.3f}s"
          f"   ({ratio:.2f}x the floor)")
    met = validate < 1.0 and ratio <= 2.0
    print("goal (< 1 s and <= 2x the floor):", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
