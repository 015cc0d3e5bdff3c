"""`flexor serve`: the long-running runtime's verb (flexor_iac/serve/).

Click-aware like main.py (which registers it on its group); the command is thin and calls
flexor_iac.commands.serve.
"""

from __future__ import annotations

import click

from flexor_iac.cli.options import env_option, global_options, settings
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import UsageError


def _wait(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from flexor_iac.core.moments import parse_wait

    seconds = parse_wait(value, f"--{param.name}")
    if param.name == "lease" and seconds < 1:
        raise UsageError(f"--lease {value!r}: a lease is at least 1s")
    return seconds


@click.command()
@global_options
@env_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8470, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Runs at once on this server.")
@click.option("--grace", metavar="WAIT", default="30s", show_default=True, callback=_wait,
              help="On SIGTERM or Ctrl-C, how long running runs may take to finish.")
@click.option("--lease", metavar="WAIT", default="30s", show_default=True, callback=_wait,
              help="Team mode: how long a server may be silent before another takes over "
                   "its running runs.")
def serve(env: Environment, host: str, port: int, workers: int, grace: float,
          lease: float) -> int:
    """Fire the environment's deployed agents from their triggers, until stopped.

    \b
    schedule  cron ticks in the trigger's time zone; a tick missed while no
              server ran fires once at start (trigger.catch_up: false skips it)
    webhook   POST <trigger.path, default /hooks/AGENT> with a JSON object;
              Authorization: Bearer KEY (scope run:ENV) once access control is on
    event     `flexor plexifact emit --env ENV EVENT` runs every matching agent once
    Also GET /healthz and GET /metrics (Prometheus). Deploys, rollbacks, pause
    and resume are picked up without a restart; only trigger types the
    environment enables fire (flexor:triggers in Pulumi.ENV.yaml).

    \b
    On the embedded store one server per environment runs (a second exits 3).
    In team mode (FLEXOR_DATABASE_URL) any number share the work: each tick,
    webhook and event runs once, and a stopped server's runs go to another.

    \b
    Examples:
      flexor serve --env staging
      flexor serve --env production --host 0.0.0.0 --port 8470 --workers 8
    """
    from flexor_iac.commands import serve as command
    from flexor_iac.serve.service import ServeOptions

    current = settings()
    options = ServeOptions(env, host, port, workers, grace, lease=lease)
    return command.run(current.paths(), options, current.console())


def register(group: click.Group) -> None:
    """Add `serve` to the `flexor` group."""
    group.add_command(serve)
