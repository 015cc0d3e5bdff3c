"""`flexor serve --env E`: fire the environment's deployed agents from their triggers until
stopped (flexor_iac/serve/); on a PLEXI-managed production, also apply approved requests when a
maintenance window opens (commands/applier.py)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

from flexor_iac.access.policy import Gate
from flexor_iac.api.app import ApiServer
from flexor_iac.api.auth import Callers
from flexor_iac.api.runner import Runner
from flexor_iac.api.workspaces import Workspaces
from flexor_iac.commands import applier
from flexor_iac.controlplane.location import team_database
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import TEAM_PASSPHRASE
from flexor_iac.serve.chores import Chore
from flexor_iac.serve.process import Process, listen, only_server
from flexor_iac.serve.queues import LocalQueue, Queue
from flexor_iac.serve.service import ServeOptions, Service


def _api(paths: ProjectPaths, url: str) -> ApiServer:
    """The team server's API on the team database `url`."""
    return ApiServer(paths.root, url, Workspaces(paths.state_dir / "server" / "workspaces"),
                     Callers(paths.root, url), Runner())


def _api_only(paths: ProjectPaths, options: ServeOptions, console: Console,
              tls: tuple[str, str] | None) -> int:
    """`flexor serve` without --env: the team server's API alone."""
    url = team_database(paths.root)
    if url is None:
        raise UsageError("`flexor serve` without --env is the team server's API, which needs "
                         "team mode (FLEXOR_DATABASE_URL); on the embedded store give --env")
    if not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(os.environ):
        raise UsageError(TEAM_PASSPHRASE)
    with ControlPlane(url, create=True):
        pass  # the schema is current before the first request
    sock = listen(options.host, options.port)
    Process(None, sock, console.line, _api(paths, url), tls, options).run()
    console.line("Stopped serving the team server's API.")
    return ExitCode.OK


def run(paths: ProjectPaths, options: ServeOptions, console: Console,
        tls: tuple[str, str] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; exit 0 after a clean stop."""
    if options.environment is None:
        return _api_only(paths, options, console, tls)
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
        unfinished = Process(service, sock, console.line, _api(paths, url) if url else None,
                             tls).run()
    if unfinished:
        console.warning(f"{unfinished} run(s) had not finished after the grace period "
                        f"({options.grace:g} s) and were cut off"
                        + ("; their jobs go to another server" if url else ""))
    console.line(f"Stopped serving {env}.")
    return ExitCode.OK
