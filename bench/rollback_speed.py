"""Rolling back one agent: 500 agents against 10 (a targeted update, not the whole stack).

For each size: generate, sync, deploy 1.0 of every agent, deploy 1.1 of agent-0, then time
`flexor rollback --agent agent-0` alternating between the two retained versions.
Goal: rollback at 500 agents costs at most 2x rollback at 10.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from bench.deploy_speed import FLEXOR, _timed
from bench.generate import generate

RUNS = 5


def measure(size: int, scratch: Path) -> float:
    """Median seconds of one rollback of agent-0 in a staging stack of `size` agents."""
    root = scratch / f"agents-{size}"
    generate(root, agents=size, skills=max(8, size // 5))
    for vault in ("company", "personal", "desk", "research"):
        _timed([FLEXOR, "sync", "--vault", vault], root)
    _timed([FLEXOR, "deploy", "--env", "staging", "--yes"], root)
    agent = root / "agents" / "agent-0.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "1.1"')
                     .replace("max_attempts: 2", "max_attempts: 3"))
    _timed([FLEXOR, "deploy", "--env", "staging", "--yes"], root)
    times = []
    for run in range(RUNS):
        version = "1.0" if run % 2 == 0 else "1.1"
        times.append(_timed([FLEXOR, "rollback", "--agent", "agent-0", "--env", "staging",
                             "--version", version, "--yes"], root))
    return statistics.median(times)


def main() -> int:
    """Print both medians and the ratio; exit 1 if the goal is missed."""
    with tempfile.TemporaryDirectory() as scratch:
        small = measure(10, Path(scratch))
        large = measure(500, Path(scratch))
    ratio = large / small
    print(f"rollback of one agent, median of {RUNS}: 10 agents {small:.2f} s, "
          f"500 agents {large:.2f} s ({ratio:.2f}x; goal <= 2x)")
    print("goal:", "met" if ratio <= 2 else "MISSED")
    return 0 if ratio <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
