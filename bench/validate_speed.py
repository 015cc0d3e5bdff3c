"""`flexor validate` on 1,000 agents / 200 skills / 4 vaults vs the floor of parsing the files.

All are whole processes, run interleaved (floor, cold, warm, floor, …) so all see the same
machine noise; the table gives the minimum and the median of RUNS runs each:
  floor:            python -c "parse every file with yaml.CSafeLoader (vault.json with json)"
  validate (cold):  flexor validate --project-dir <project>, its parse cache deleted first
                    (a fresh CI checkout)
  validate (warm):  the same with the parse cache of the previous run (files unchanged: an
                    editor, a pre-commit hook, the run after `git pull`)
Goal, judged on the medians: validate under 1 second, and at most 2x the floor. Both cases
are reported; the exit code follows the cold one, the stricter.
flexor_iac's bytecode is compiled first, as `pip install` does: an editable checkout under
PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run.
"""

from __future__ import annotations

import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import flexor_iac
from bench.generate import generate
from flexor_iac.project import parse_cache

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


def interleaved(commands: list[list[str]], before: list[Callable[[], None]]
                ) -> list[list[float]]:
    """RUNS timings of each command, alternating, after one warm-up run of each."""
    for command, prepare in zip(commands, before, strict=True):
        prepare()
        timed(command)
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(RUNS):
        for index, (command, prepare) in enumerate(zip(commands, before, strict=True)):
            prepare()
            timings[index].append(timed(command))
    return timings


def _row(label: str, times: list[float], floor: float) -> str:
    median = statistics.median(times)
    return f"{label:36} {min(times):6.3f}s {median:6.3f}s   ({median / floor:.2f}x the floor)"


def main() -> int:
    """Generate the project, time all three, print the table; exit 1 if the goal is missed."""
    compileall.compile_dir(Path(flexor_iac.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        files = generate(root, agents=1000, skills=200)
        time.sleep(parse_cache.UNSURE_NS / 1e9)  # the cache keeps no file changed just now
        listing = Path(scratch) / "files.txt"
        listing.write_text("\n".join(str(f) for f in files))
        flexor = [str(Path(sys.executable).parent / "flexor"), "validate", "--project-dir",
                  str(root)]
        cache = root / ".flexor" / "cache"
        floors, colds, warms = interleaved(
            [[sys.executable, "-c", FLOOR, str(listing)], flexor, flexor],
            [lambda: None, lambda: shutil.rmtree(cache, ignore_errors=True), lambda: None])
    floor = statistics.median(floors)
    print(f"files: {len(files)} (1000 agents, 200 skills, 4 vaults); {RUNS} interleaved runs")
    print(f"{'':36} {'min':>7} {'median':>7}")
    print(f"{'floor (parse with CSafeLoader)':36} {min(floors):6.3f}s {floor:6.3f}s")
    print(_row("flexor validate (cold)", colds, floor))
    print(_row("flexor validate (warm parse cache)", warms, floor))
    results = {}
    for name, times in (("cold", colds), ("warm", warms)):
        median = statistics.median(times)
        results[name] = median < 1.0 and median / floor <= 2.0
        print(f"goal (< 1 s and <= 2x the floor), {name}:", "met" if results[name] else "MISSED")
    return 0 if results["cold"] else 1


if __name__ == "__main__":
    sys.exit(main())
