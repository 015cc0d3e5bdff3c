"""The flexor wrapper against the bare engine, at 10, 100 and 500 agents (staging).

For each size: generate a project, sync its vaults, deploy it once (not timed), then time,
interleaved (wrapper, engine, wrapper, …), on the same unchanged stack:
  dry run:  flexor deploy --env staging --dry-run   vs  pulumi preview --stack staging
  no-op:    flexor deploy --env staging --yes       vs  pulumi up --stack staging --yes
Goals: the wrapper costs at most 15% over the engine; 500 agents cost at most 5.5x 100.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env

SIZES = (10, 100, 500)
RUNS = 5
FLEXOR = str(Path(sys.executable).parent / "flexor")


def _engine_env(root: Path) -> dict[str, str]:
    """What flexor gives the engine, for running `pulumi` directly on the same stack."""
    return {**os.environ, **engine_env(ProjectPaths(root))}


def _timed(command: list[str], root: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def _pair(ours: list[str], theirs: list[str], root: Path) -> tuple[float, float]:
    env = _engine_env(root)
    times = [(_timed(ours, root), _timed(theirs, root, env)) for _ in range(RUNS)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def measure(size: int, scratch: Path) -> dict[str, float]:
    """Timings for one project size."""
    root = scratch / f"agents-{size}"
    generate(root, agents=size, skills=max(8, size // 5))
    for vault in ("company", "personal", "desk", "research"):
        _timed([FLEXOR, "sync", "--vault", vault], root)
    _timed([FLEXOR, "deploy", "--env", "staging", "--yes"], root)
    dry = _pair([FLEXOR, "deploy", "--env", "staging", "--dry-run"],
                ["pulumi", "preview", "--stack", "staging", "--non-interactive"], root)
    noop = _pair([FLEXOR, "deploy", "--env", "staging", "--yes"],
                 ["pulumi", "up", "--stack", "staging", "--yes", "--non-interactive"], root)
    return {"dry_flexor": dry[0], "dry_pulumi": dry[1], "noop_flexor": noop[0],
            "noop_pulumi": noop[1]}


def main() -> int:
    """Run every size, print the table, exit 1 if a goal is missed."""
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in SIZES:
            results[size] = measure(size, Path(scratch))
            print(f"measured {size} agents", file=sys.stderr, flush=True)
    print(f"median of {RUNS} interleaved runs, seconds; staging, stack unchanged")
    print(f"{'agents':>6} | {'flexor --dry-run':>16} {'pulumi preview':>14} {'overhead':>8} | "
          f"{'flexor no-op':>12} {'pulumi up':>9} {'overhead':>8}")
    met = True
    for size, r in results.items():
        dry_over = r["dry_flexor"] / r["dry_pulumi"] - 1
        noop_over = r["noop_flexor"] / r["noop_pulumi"] - 1
        met &= dry_over <= 0.15 and noop_over <= 0.15
        print(f"{size:>6} | {r['dry_flexor']:>16.2f} {r['dry_pulumi']:>14.2f} {dry_over:>+8.0%} | "
              f"{r['noop_flexor']:>12.2f} {r['noop_pulumi']:>9.2f} {noop_over:>+8.0%}")
    scale = results[500]["dry_flexor"] / results[100]["dry_flexor"]
    met &= scale <= 5.5
    print(f"500 vs 100 agents (flexor --dry-run): {scale:.2f}x (goal <= 5.5x)")
    print("goals:", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
