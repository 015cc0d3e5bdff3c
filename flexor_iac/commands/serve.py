"""`flexor serve --env E`: fire the environment's deployed agents from their triggers until
stopped (flexor_iac/serve/); on a PLEXI-managed production, also apply approved requests when a
maintenance window opens (commands/applier.py)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from flexor_iac.access.policy import Gate
from flexor_iac.commands import applier
from flexor_iac.controlplane.location import team_database
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.serve.chores import Chore
from flexor_iac.serve.process import Process, listen, only_server
from flexor_iac.serve.queues import LocalQueue, Queue
from flexor_iac.serve.service import ServeOptions, Service


def run(paths: ProjectPaths, options: ServeOptions, console: Console) -> int:
    """Serve until SIGTERM or Ctrl-C; exit 0 after a clean stop."""
    env = options.environment.value
    located = locate(paths.root)
    where = str(located)
    url = team_database(paths.root)
    # A clone with no control plane has deployed nothing: refused without making one.
    with ControlPlane(where, create=not isinstance(located, Path)) as store:
        gate = Gate(paths.root, store)
        gate.require("serve", options.environment)
        applies = options.environment is Environment.PRODUCTION \
            and gate.protection(Environment.PRODUCTION).managed
        if store.environment(env) is None and not applies:  # nothing to fire, nor apply
            raise FlexorError(f"nothing is deployed to {env}: run `flexor deploy --env {env}` "
                              "first")
    with nullcontext() if url else only_server(paths, env):
        sock = listen(options.host, options.port)
        queue: Queue
        if url:
            from flexor_iac.serve.team_queue import TeamQueue

            queue = TeamQueue(url, env, options.workers, options.lease, options.grace)
        else:
            queue = LocalQueue(options.workers)
        chores: list[Chore] = []
        if clock.simulated():
            console.warning(f"the clock is simulated (FLEXOR_CLOCK): it reads "
                            f"{clock.now().isoformat(timespec='seconds')}")
        if applies:  # PLEXI-managed: approved requests are applied when a window opens
            console.line("Production is PLEXI-managed: approved requests are applied when a "
                         "maintenance window opens.")
            chores.append((applier.INTERVAL, lambda: applier.apply_due(paths, console.line)))
        service = Service(paths, where, options, queue, say=console.line, chores=chores)
        unfinished = Process(service, sock, console.line).run()
    if unfinished:
        console.warning(f"{unfinished} run(s) had not finished after the grace period "
                        f"({options.grace:g} s) and were cut off"
                        + ("; their jobs go to another server" if url else ""))
    console.line(f"Stopped serving {env}.")
    return ExitCode.OK
