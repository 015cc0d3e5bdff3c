"""`flexor serve`: the long-running runtime's verb (flexor_iac/serve/).

Click-aware like main.py (which registers it on its group); the command is thin and calls
flexor_iac.commands.serve.
"""

from __future__ import annotations

from pathlib import Path

import click

from flexor_iac.cli.options import global_options, settings
from flexor_iac.core.constants import ENVIRONMENT_NAMES, Environment
from flexor_iac.core.errors import UsageError


def _wait(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from flexor_iac.core.moments import parse_wait

    seconds = parse_wait(value, f"--{param.name}")
    if param.name == "lease" and seconds < 1:
        raise UsageError(f"--lease {value!r}: a lease is at least 1s")
    return seconds


def _tls_file(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        found = Path(value).is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        shown = value if len(value) <= 80 else f"{value[:80]}…"
        raise click.BadParameter(f"{shown!r}: no such file")
    return value


@click.command()
@global_options
@click.option("--env", "envs", multiple=True, envvar="FLEXOR_ENV",
              type=click.Choice(ENVIRONMENT_NAMES),
              help="Environment whose triggers to fire (repeatable; or FLEXOR_ENV); default: "
                   "every environment deployed so far.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8470, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--workers", type=click.IntRange(1, 64),
              help="Runs at once on this server [default: two per core, 4 to 16].")
@click.option("--grace", metavar="WAIT", default="30s", show_default=True, callback=_wait,
              help="On SIGTERM or Ctrl-C, how long running runs may take to finish.")
@click.option("--lease", metavar="WAIT", default="30s", show_default=True, callback=_wait,
              help="Team mode: how long a server may be silent before another takes over "
                   "its running runs.")
@click.option("--tls-cert", metavar="FILE", callback=_tls_file,
              help="Serve HTTPS with this certificate (PEM; with --tls-key).")
@click.option("--tls-key", metavar="FILE", callback=_tls_file,
              help="The certificate's private key (PEM).")
def serve(envs: tuple[str, ...], host: str, port: int, workers: int | None, grace: float,
          lease: float, tls_cert: str | None, tls_key: str | None) -> int:
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
    Without --env it serves every environment deployed so far; with several,
    each one's webhooks, /healthz and /metrics are under /ENV/ (one: at /).
    In team mode the server is also the team server: clients with FLEXOR_SERVER
    and a key send it their verbs (HTTP API under /api/v1; with nothing
    deployed yet, the API alone). --tls-cert/--tls-key serve HTTPS.

    \b
    On the embedded store one server per environment runs (a second exits 3).
    In team mode (FLEXOR_DATABASE_URL) any number share the work: each tick,
    webhook and event runs once, and a stopped server's runs go to another.

    \b
    Examples:
      flexor serve
      flexor serve --env staging
      flexor serve --env production --host 0.0.0.0 --port 8470 --workers 8
      flexor serve --host 0.0.0.0 --tls-cert server.pem --tls-key server.key
    """
    from flexor_iac.commands import serve as command
    from flexor_iac.serve.queues import default_workers
    from flexor_iac.serve.service import ServeOptions

    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    current = settings()
    options = ServeOptions(None, host, port, workers or default_workers(), grace, lease=lease)
    tls = (tls_cert, tls_key) if tls_cert and tls_key else None
    given = tuple(Environment(env) for env in envs)
    return command.run(current.paths(), options, current.console(), tls, given)


def register(group: click.Group) -> None:
    """Add `serve` to the `flexor` group."""
    group.add_command(serve)
