"""The runtime verbs of the `flexor` command line: agents, run, logs, audit, pause, resume,
plexifact.

Click-aware like main.py (which registers these on its group); each command is thin and
calls flexor_iac.commands.<verb>.
"""

from __future__ import annotations

from pathlib import Path

import click

from flexor_iac.cli.options import (
    LIMIT,
    agent_option,
    env_filter_option,
    env_option,
    global_options,
    settings,
)
from flexor_iac.core.constants import RUN_STATUSES, Environment
from flexor_iac.core.errors import UsageError


def _pairs(option: str, pairs: tuple[str, ...]) -> dict[str, str]:
    """`k=v` pairs of `option` → a dict (values stay text: skill inputs are converted by their
    type, event filters compare as text)."""
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {pair!r}: expected NAME=VALUE")
        values[key.strip()] = value
    return values


@click.command()
@global_options
@click.argument("agent")
@env_option
@click.option("--now", "now", is_flag=True, help="Run it now (the manual trigger).")
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE",
              help="An input, also readable as event.NAME (repeatable).")
@click.option("--trigger", type=click.Choice(["manual", "schedule", "event", "webhook"]),
              default="manual", show_default=True,
              help="Fire as the agent's own trigger type (refused where it is not enabled).")
@click.option("--force", is_flag=True, help="Run even if the agent is paused.")
def run(agent: str, env: Environment, now: bool, inputs: tuple[str, ...], trigger: str,
        force: bool) -> int:
    """Run the deployed version of AGENT now, applying its retry policy.

    \b
    Runs what is deployed to the environment (never the working tree) and prints
    the run summary. Exit 0 on success, 1 when the run failed or was partial,
    3 when refused (paused agent, trigger not enabled in the environment).

    \b
    Examples:
      flexor run feed-monitor --now --env staging
      flexor run daily-position-recon --now --env staging --input fund_id=GLOBAL-EQ-1
    """
    from flexor_iac.commands import run as command
    from flexor_iac.runtime.executor import RunRequest

    if not now:
        raise UsageError("run needs --now (scheduled runs belong to `flexor serve`)")
    current = settings()
    request = RunRequest(env, agent, _pairs("--input", inputs), trigger, force)
    return command.run(current.paths(), request, current.console())


@click.command()
@global_options
@env_option
@agent_option("The agent whose runs to show.", required=True)
@click.option("--status", type=click.Choice((*RUN_STATUSES, "error")),
              help="Only runs with this status (`error` = `failed`).")
@click.option("--limit", type=LIMIT, default=20, show_default=True,
              help="At most this many runs.")
@click.option("--since", metavar="WHEN", help="Only runs from WHEN (2026-04-30, an ISO time, 2h).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new runs (Ctrl-C ends).")
def logs(env: Environment, agent: str, status: str | None, limit: int, since: str | None,
         follow: bool) -> int:
    """Show an agent's runs, newest first, with their log lines.

    \b
    Examples:
      flexor logs --agent feed-monitor --env staging
      flexor logs --agent feed-monitor --env production --status error --since 7d
    """
    from flexor_iac.commands import logs as command
    from flexor_iac.core import clock
    from flexor_iac.core.moments import parse_moment

    moment = parse_moment(since, "--since", clock.now()) if since else None
    current = settings()
    request = command.LogsRequest(env, agent, status, limit, moment, follow)
    return command.run(current.paths(), request, current.console())


@click.command()
@global_options
@env_filter_option("Only this environment (default: all).")
@agent_option("Only this agent.")
@click.option("--from", "start", metavar="DATE", help="Runs triggered on or after DATE.")
@click.option("--to", "end", metavar="DATE", help="Runs triggered on or before DATE.")
@click.option("--status", type=click.Choice(RUN_STATUSES),
              help="Only entries with this status.")
@click.option("--limit", type=LIMIT, metavar="N", help="At most N entries.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output format.")
def audit(env: Environment | None, agent: str | None, start: str | None, end: str | None,
          status: str | None, limit: int | None, fmt: str) -> int:
    """Show the audit log: one entry per run, redacted per the vault's audit settings.

    \b
    Examples:
      flexor audit --agent feed-monitor --limit 50
      flexor audit --from 2026-04-01 --to 2026-04-30 --format csv > audit-april.csv
      flexor audit --status failed
    """
    from flexor_iac.commands import audit as command
    from flexor_iac.core import clock
    from flexor_iac.core.moments import parse_moment

    now = clock.now()
    request = command.AuditRequest(
        env, agent,
        parse_moment(start, "--from", now) if start else None,
        parse_moment(end, "--to", now, end_of_day=True) if end else None, status, limit, fmt)
    current = settings()
    return command.run(current.paths(), request, current.console())


def _pause_command(paused: bool) -> click.Command:
    verb = "pause" if paused else "resume"

    @click.command(verb)
    @global_options
    @env_option
    @agent_option(f"The agent to {verb}.", required=True)
    def command(env: Environment, agent: str) -> int:
        from flexor_iac.commands import pause as implementation

        current = settings()
        return implementation.run(current.paths(), env, agent, paused,
                                  current.console())

    command.help = (
        f"{verb.capitalize()} an agent in one environment.\n\n"
        + ("A paused agent's triggers do not fire; `run --now` needs --force.\n\n" if paused
           else "Its triggers fire again.\n\n")
        + f"\b\nExample:\n  flexor {verb} --agent feed-monitor --env production")
    return command


@click.group()
def plexifact() -> None:
    """The environment's PlexiFact catalog (demo and test data) and events."""


@plexifact.command("load")
@global_options
@env_option
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
def plexifact_load(env: Environment, source: Path | None) -> int:
    """Replace the environment's catalog with SOURCE (YAML or JSON; default: demo data).

    \b
    SOURCE holds `feeds` (name, last_ingested_at or age_minutes, row_count) and
    `positions` (fund_id, source: internal|custodian, instrument, quantity, as_of).

    \b
    Examples:
      flexor plexifact load --env staging
      flexor plexifact load --env staging stale-feeds.yaml
    """
    from flexor_iac.commands import plexifact as command

    current = settings()
    return command.run(current.paths(), env, source, current.console())


@plexifact.command("emit")
@global_options
@env_option
@click.argument("event")
@click.option("--data", "data", multiple=True, metavar="NAME=VALUE",
              help="A value of the event's data, kept as text (repeatable).")
@click.option("--source", default="plexifact", show_default=True,
              help="Where the event comes from (what a trigger's `source` names).")
def plexifact_emit(env: Environment, event: str, data: tuple[str, ...], source: str) -> int:
    """Record a PlexiFact event; name the deployed agents it fires.

    \b
    EVENT is a dotted name, such as fund.positions.updated. A deployed agent runs
    on it (once `flexor serve` reads it) when its trigger has type event, this
    event name, no source or this --source, and a filter the data meets. This
    command only records the event and prints its number and the matching agents
    (paused ones apart); it runs nothing. Values stay text and filters compare as
    text (`rows: 3` matches rows=3, `urgent: true` matches urgent=true; a filter
    template matches any value). Needs scope run:{env} where keys are required;
    warns when the environment's flexor:triggers lacks event.

    \b
    Examples:
      flexor plexifact emit fund.positions.updated --env staging \\
          --data fund_id=GLOBAL-EQ-1
      flexor plexifact emit feed.refreshed --env staging --source custodian \\
          --data feed=equity-prices --data rows=5210
    """
    from flexor_iac.commands import emit as command

    current = settings()
    request = command.EmitRequest(env, event, _pairs("--data", data), source)
    return command.run(current.paths(), request, current.console())


@click.group()
def agents() -> None:
    """Agents deployed to an environment."""


@agents.command("list")
@global_options
@env_option
def agents_list(env: Environment) -> int:
    """List the agents active in one environment.

    \b
    Columns: NAME TRIGGER ENVIRONMENT STATUS VERSION LAST RUN.

    \b
    Example:
      flexor agents list --env production
    """
    from flexor_iac.commands import agents as command

    current = settings()
    return command.run(current.paths(), env, current.console())


def register(group: click.Group) -> None:
    """Add the runtime verbs to the `flexor` group."""
    for command in (agents, run, logs, audit, _pause_command(True), _pause_command(False),
                    plexifact):
        group.add_command(command)
