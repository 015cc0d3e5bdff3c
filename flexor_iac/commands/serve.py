"""`flexor serve [--env E…]`: fire the deployed agents of each environment (every deployed one
without --env) from their triggers until stopped (flexor_iac/serve/); on a PLEXI-managed
production, also apply approved requests when a maintenance window opens (commands/applier.py);
in team mode it is also the team server (flexor_iac/api/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from flexor_iac.access.policy import Gate
from flexor_iac.api.app import ApiServer
from flexor_iac.api.auth import Callers
from flexor_iac.api.runner import Runner
from flexor_iac.api.workspaces import Workspaces
from flexor_iac.commands import applier
from flexor_iac.console.app import console_routes
from flexor_iac.controlplane.location import team_database
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import TEAM_PASSPHRASE
from flexor_iac.runtime import retention
from flexor_iac.serve.chores import Chore
from flexor_iac.serve.process import Process, listen, only_server
from flexor_iac.serve.queues import LocalQueue, Queue
from flexor_iac.serve.service import ServeOptions, Service


def _api(paths: ProjectPaths, url: str) -> ApiServer:
    """The team server's API on the team database `url`."""
    return ApiServer(paths.root, url, Workspaces(paths.state_dir / "server" / "workspaces"),
                     Callers(paths.root, url), Runner())


def _served(paths: ProjectPaths, where: str, create: bool,
            given: tuple[Environment, ...]) -> tuple[list[Environment], bool]:
    """The environments to serve — those given, each deployed (else refused), or without any
    given every environment deployed so far — and whether production is PLEXI-managed (its
    server applies approved requests, even before anything is deployed there)."""
    with ControlPlane(where, create=create) as store:
        gate = Gate(paths.root, store)
        managed = gate.protection(Environment.PRODUCTION).managed

        def wanted(env: Environment) -> bool:
            return store.environment(env.value) is not None or (
                env is Environment.PRODUCTION and managed)
        if given:
            for env in given:
                gate.require("serve", env)
                if not wanted(env):
                    raise FlexorError(f"nothing is deployed to {env.value}: run `flexor deploy "
                                      f"--env {env.value}` first")
            envs = list(dict.fromkeys(given))
        else:
            envs = [env for env in Environment if wanted(env)]
            for env in envs:
                gate.require("serve", env)
        return envs, managed and Environment.PRODUCTION in envs


def run(paths: ProjectPaths, options: ServeOptions, console: Console,
        tls: tuple[str, str] | None = None, given: tuple[Environment, ...] = ()) -> int:
    """Serve until SIGTERM or Ctrl-C; exit 0 after a clean stop."""
    located = locate(paths.root)
    where = str(located)
    url = team_database(paths.root)
    if url and not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(
            os.environ):
        raise UsageError(TEAM_PASSPHRASE)  # the team server's deploys need it
    # A clone with no control plane has deployed nothing: refused without making one.
    envs, applies = _served(paths, where, not isinstance(located, Path), given)
    if not envs and not url:
        raise FlexorError("nothing is deployed here yet: run `flexor deploy --env E` first "
                          "(in team mode, `flexor serve` without a deployed environment serves "
                          "the team server's API alone)")
    with ExitStack() as held:
        if not url:
            for env in envs:
                held.enter_context(only_server(paths, env.value))
        sock = listen(options.host, options.port)
        if clock.simulated():
            console.warning(f"the clock is simulated (FLEXOR_CLOCK): it reads "
                            f"{clock.now().isoformat(timespec='seconds')}")
        chores: dict[Environment, list[Chore]] = {env: [] for env in envs}
        if applies:  # PLEXI-managed: approved requests are applied when a window opens
            console.line("Production is PLEXI-managed: approved requests are applied when a "
                         "maintenance window opens.")
            chores[Environment.PRODUCTION].append(
                (applier.INTERVAL, lambda: applier.apply_due(paths, console.line)))
        if envs:  # one pruning per process, beside the first environment's triggers
            chores[envs[0]].append((retention.INTERVAL, lambda: _prune(where, console.line)))
        services = [Service(paths, where, replace(options, environment=env),
                            _queue(url, env, options), say=console.line, chores=chores[env])
                    for env in envs]
        unfinished = Process(services, sock, console.line, _api(paths, url) if url else None,
                             tls, options, console_routes if url else None).run()
    if unfinished:
        console.warning(f"{unfinished} run(s) had not finished after the grace period "
                        f"({options.grace:g} s) and were cut off"
                        + ("; their jobs go to another server" if url else ""))
    console.line(f"Stopped serving {', '.join(e.value for e in envs) or 'the API'}.")
    return ExitCode.OK


def _prune(where: str, say: Callable[[str], None]) -> None:
    """Apply the retention rules once (runtime/retention.py) and say what went, if anything."""
    with ControlPlane(where, create=False) as store:
        pruned = retention.prune(store, clock.now())
    if pruned:
        say(f"Retention: removed {pruned.runs} run(s), {pruned.servers} stopped server(s), "
            f"{pruned.queue} finished queue row(s), {pruned.uploads} old upload(s) and "
            f"saved plan(s), {pruned.keys} expired CI key(s).")


def _queue(url: str | None, env: Environment, options: ServeOptions) -> Queue:
    if url is None:
        return LocalQueue(options.workers)
    from flexor_iac.serve.team_queue import TeamQueue

    return TeamQueue(url, env.value, options.workers, options.lease, options.grace)
