"""flexor against the floor (bench/floor.py), side by side in one run, at 100, 300 and 500.

For each size, on a project from bench/generate.py (staging) and a floor project of as many
resources, each timed once, alternating flexor and floor:
  first deploy:  flexor deploy --env staging --yes     vs  pulumi up (every resource new)
  update-all:    every agent's version bumped, deploy  vs  every resource's input changed, up
  no-op deploy:  deploy again, nothing changed         vs  pulumi up, nothing changed
                 (median of NOOP_RUNS each)
Then rollback of one agent among 500 vs among 10 (bench/rollback_speed.py) and the control
plane's reads behind `status` with 100,000 runs (bench/store_speed.py, embedded store).

Goals (issue 19): first deploy and update-all at 300 and 500 <= 1.0x the floor; update-all
500 / 100 <= 6x; no-op at 500 <= 0.1x the floor's no-op; rollback 500 / 10 <= 2x; status
reads <= 150 ms. Exit 1 when one is missed. `--sizes 100,300` measures fewer sizes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench import floor, rollback_speed, store_speed
from bench.deploy_speed import FLEXOR, _timed
from bench.generate import VAULTS, generate
from flexor_iac.controlplane.store import ControlPlane

SIZES = (100, 300, 500)
NOOP_RUNS = 3
ROWS = ("first", "update", "noop")


def _floor_timed(root: Path, command: list[str]) -> float:
    return _timed(command, root, floor.engine_env(root))


def _bump_all(root: Path) -> None:
    for agent in (root / "agents").glob("*.yaml"):
        agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "1.1"'))


def measure(size: int, scratch: Path) -> dict[str, tuple[float, float]]:
    """(flexor, floor) seconds per row for one size."""
    ours, theirs = scratch / f"flexor-{size}", scratch / f"floor-{size}"
    generate(ours, agents=size, skills=max(8, size // 5))
    for vault, _tier, _env in VAULTS:
        _timed([FLEXOR, "sync", "--vault", vault], ours)
    floor.generate(theirs, size)
    _floor_timed(theirs, floor.INIT)
    deploy = [FLEXOR, "deploy", "--env", "staging", "--yes"]
    found = {"first": (_timed(deploy, ours), _floor_timed(theirs, floor.UP))}
    _bump_all(ours)
    floor.set_version(theirs, size, 2)
    found["update"] = (_timed(deploy, ours), _floor_timed(theirs, floor.UP))
    noop = [(_timed(deploy, ours), _floor_timed(theirs, floor.UP)) for _ in range(NOOP_RUNS)]
    found["noop"] = (statistics.median(t[0] for t in noop), statistics.median(t[1] for t in noop))
    return found


def main() -> int:
    """Measure, print the table, exit 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    results: dict[int, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            results[size] = measure(size, Path(scratch))
            print(f"measured {size}", file=sys.stderr, flush=True)
        rollback = (rollback_speed.measure(10, Path(scratch)),
                    rollback_speed.measure(500, Path(scratch))) if 500 in sizes else None
        with ControlPlane(Path(scratch) / "control-plane.db") as store:
            reads = store_speed.measure(store)
    print("seconds; flexor / floor (a bare Pulumi project of as many trivial dynamic "
          "resources, same CLI, checkpoints on)")
    print(f"{'row':>14} {'agents':>6} | {'flexor':>7} {'floor':>7} {'ratio':>7}")
    met = True
    for size, rows in results.items():
        for row in ROWS:
            ours, theirs = rows[row]
            ratio = ours / theirs
            goal = {"first": 1.0, "update": 1.0, "noop": 0.1}[row]
            judged = size >= 300 if row != "noop" else size == 500
            met &= ratio <= goal or not judged
            mark = f"(goal <= {goal}x)" if judged else ""
            print(f"{row:>14} {size:>6} | {ours:>7.2f} {theirs:>7.2f} {ratio:>6.2f}x {mark}")
    if 100 in results and 500 in results:
        growth = results[500]["update"][0] / results[100]["update"][0]
        met &= growth <= 6
        print(f"update-all 500 / 100 (flexor): {growth:.2f}x (goal <= 6x)")
    if rollback is not None:
        ratio = rollback[1] / rollback[0]
        met &= ratio <= 2
        print(f"rollback of one agent: among 10 {rollback[0]:.2f} s, among 500 "
              f"{rollback[1]:.2f} s: {ratio:.2f}x (goal <= 2x)")
    slowest = max(reads.values())
    met &= slowest <= store_speed.GOAL
    print(f"status reads with {store_speed.RUNS:,} runs: slowest {slowest * 1000:.0f} ms "
          f"(goal <= {store_speed.GOAL * 1000:.0f} ms)")
    print("goals:", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
