"""kill -9 at random points of a 500-agent update-all, ten times: each next plain deploy must
converge (the state and `agents list` hold every agent at the version the files say).

For each cycle: bump every agent's version, start `flexor deploy --env staging --yes`, SIGKILL
flexor or its engine (chosen at random) after a random number of finished resource steps
(0: as the update starts), then deploy again and compare. The seed is printed; `--seed N`
repeats a run, `--agents N` and `--cycles N` change its size. Exit 1 unless every cycle
converged. Slow: about a minute per cycle at 500 agents.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.deploy_speed import FLEXOR, _timed
from bench.generate import VAULTS, generate
from tests.helpers.cli import flexor
from tests.helpers.crash import exported_versions, kill_during_deploy, roster


def _set_versions(root: Path, version: str) -> dict[str, str]:
    expected = {}
    for agent in (root / "agents").glob("*.yaml"):
        lines = agent.read_text().splitlines(keepends=True)
        lines[1] = f'version: "{version}"\n'
        agent.write_text("".join(lines))
        expected[agent.stem] = version
    return expected


def main() -> int:
    """Run the cycles, print one line each, exit 1 unless all converged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    options = parser.parse_args()
    chance = random.Random(options.seed)
    print(f"seed {options.seed}; {options.agents} agents; {options.cycles} cycles", flush=True)
    converged = 0
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        generate(root, agents=options.agents, skills=max(8, options.agents // 5))
        for vault, _tier, _env in VAULTS:
            _timed([FLEXOR, "sync", "--vault", vault], root)
        _timed([FLEXOR, "deploy", "--env", "staging", "--yes"], root)
        for cycle in range(1, options.cycles + 1):
            expected = _set_versions(root, f"1.{cycle}")
            whom = chance.choice(["flexor", "engine"])
            steps = chance.randrange(0, options.agents)
            kill_during_deploy(root, whom, steps)
            start = time.perf_counter()
            rerun = flexor(root, "deploy", "--env", "staging", "--yes")
            took = time.perf_counter() - start
            ok = rerun.returncode == 0 and exported_versions(root) == expected \
                and roster(root) == expected
            converged += ok
            print(f"cycle {cycle}: kill of {whom} after {steps} steps; next deploy "
                  f"{took:.1f} s: {'converged' if ok else 'DID NOT CONVERGE'}", flush=True)
            if not ok:
                print(rerun.stderr[-2000:], flush=True)
    print(f"converged {converged}/{options.cycles}")
    return 0 if converged == options.cycles else 1


if __name__ == "__main__":
    sys.exit(main())
