"""The team server against team mode on the client: the same verbs on the same generated
project (300 agents, staging), once with the client holding the database (FLEXOR_DATABASE_URL,
the passphrase, the engine) and once through `flexor serve` (FLEXOR_SERVER and a key), each on
a database of its own on one PostgreSQL the benchmark starts, measured side by side:

  first:  flexor deploy --env staging --yes   (every resource created; once each)
  no-op:  flexor deploy --env staging --yes   (nothing changed; median of 3, alternated)
  status: flexor status --env staging         (median of 5, alternated)

Goals (issue 26): remote/local at most 1.5 for status and no-op, 1.2 for the first deploy.
Run: .venv/bin/python -m bench.team_server_speed [agents]
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.generate import generate
from tests.helpers.postgres import Server

FLEXOR = str(Path(sys.executable).parent / "flexor")
PASSPHRASE = "bench"
GOALS = {"first": 1.2, "no-op": 1.5, "status": 1.5}
VAULTS = ("company", "personal", "desk", "research")


def _run(command: list[str], root: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def _key(root: Path, env: dict[str, str]) -> str:
    made = subprocess.run([FLEXOR, "keys", "create", "--name", "bench", "--user", "b@fund.com",
                           "--scope", "admin", "--scope", "deploy:staging", "--secret-only"],
                          cwd=root, env=env, capture_output=True, text=True, check=True)
    return made.stdout.strip()


@contextmanager
def _serving(root: Path, env: dict[str, str]) -> Iterator[str]:
    log = root.parent / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen([FLEXOR, "serve", "--port", "0"], cwd=root, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"on (http://[^/\s]+)", log.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> int:
    """Measure both sides and print the table."""
    agents = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    timings: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        postgres = Server(base / "postgres")
        try:
            with postgres.database() as local_url, postgres.database() as served_url:
                project = base / "local"
                generate(project, agents=agents, skills=max(8, agents // 5))
                server_root, client_root = base / "server", base / "client"
                shutil.copytree(project, server_root)
                shutil.copytree(project, client_root)
                clean = {k: v for k, v in os.environ.items()
                         if not k.startswith(("FLEXOR_", "PULUMI_"))}
                local = dict(clean, FLEXOR_DATABASE_URL=local_url,
                             PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
                served = dict(clean, FLEXOR_DATABASE_URL=served_url,
                              PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
                local["FLEXOR_API_KEY"] = _key(project, local)
                remote_key = _key(server_root, served)
                with _serving(server_root, served) as address:
                    remote = dict(clean, FLEXOR_SERVER=address, FLEXOR_API_KEY=remote_key,
                                  PATH="/usr/bin:/bin")
                    sides = {"local": (project, local), "remote": (client_root, remote)}
                    for root, env in sides.values():
                        for vault in VAULTS:
                            _run([FLEXOR, "sync", "--vault", vault], root, env)
                    deploy = [FLEXOR, "deploy", "--env", "staging", "--yes"]
                    status = [FLEXOR, "status", "--env", "staging"]
                    for step, command, repeat in (("first", deploy, 1), ("no-op", deploy, 3),
                                                  ("status", status, 5)):
                        for _ in range(repeat):
                            for side, (root, env) in sides.items():
                                timings.setdefault((step, side), []).append(
                                    _run(command, root, env))
                        print(f"measured {step}", file=sys.stderr, flush=True)
        finally:
            postgres.stop()
    print(f"seconds (median), {agents} agents, staging; remote = through `flexor serve`")
    print(f"{'step':>7} {'local':>8} {'remote':>8} {'ratio':>6} {'goal':>5}")
    met = True
    for step, goal in GOALS.items():
        here = statistics.median(timings[step, "local"])
        there = statistics.median(timings[step, "remote"])
        ratio = there / here
        met &= ratio <= goal
        print(f"{step:>7} {here:>8.2f} {there:>8.2f} {ratio:>5.2f}x {goal:>4.1f}x "
              f"{'met' if ratio <= goal else 'NOT MET'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
