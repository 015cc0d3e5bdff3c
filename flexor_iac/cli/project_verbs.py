"""The project and deploy verbs: validate, deploy, sync, status, init, rollback, history.

Each turns its options into typed arguments and calls flexor_iac.commands.<verb>."""

from __future__ import annotations

from pathlib import Path

import click

from flexor_iac.cli.options import (
    LIMIT,
    agent_option,
    ask,
    dry_run_option,
    env_filter_option,
    env_option,
    global_options,
    lock_timeout_option,
    settings,
    version_name,
    yes_option,
)
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import UsageError


@click.command()
@global_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--changed", is_flag=True,
              help="Report only files changed against the git merge base (and their referrers).")
@click.option("--base", metavar="REV", help="With --changed: compare against REV.")
@env_filter_option("Apply only this environment's rules (scope, resolution).")
def validate(paths: tuple[Path, ...], changed: bool, base: str | None,
             env: Environment | None) -> int:
    """Check every project file and report all problems, one per line.

    \b
    Lines read `path:line:col: error|warning: message [rule]`. The whole project is
    always loaded, so cross-file references are checked even when reporting on a part.
    Exit 0 when there are no errors (warnings allowed), 1 otherwise.

    \b
    Examples:
      flexor validate
      flexor validate agents/feed-monitor.yaml
      flexor validate --changed --base origin/main
      flexor validate --env production --json
    """
    from flexor_iac.commands import validate as command

    current = settings()
    request = command.ValidateRequest(paths, changed, base, env)
    return command.run(current.paths(), request, current.console())


@click.command()
@global_options
@env_option
@agent_option("Deploy only this agent (repeatable) plus what it depends on.", multiple=True)
@dry_run_option("Show the plan and stop; changes nothing anywhere.")
@yes_option
@click.option("--refresh", is_flag=True, help="Refresh the state from the outside world first.")
@click.option("--detailed-exitcode", is_flag=True,
              help="With --dry-run: exit 2 when there are changes.")
@click.option("--request", "request_id", metavar="REQUEST",
              help="Managed production: apply this approved request (in a maintenance window).")
@click.option("--allow-downgrade", is_flag=True,
              help="Allow lowering a deployed agent version in staging/production.")
@click.option("--plan-out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Save the plan to FILE and stop (a dry run); apply it with --plan FILE.")
@click.option("--plan", "saved_plan", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Apply exactly the plan saved in FILE; refused (exit 3) if it is stale.")
@lock_timeout_option
def deploy(env: Environment, agents: tuple[str, ...], dry_run: bool, yes: bool, refresh: bool,
           detailed_exitcode: bool, request_id: str | None, allow_downgrade: bool,
           plan_out: Path | None, saved_plan: Path | None, lock_timeout: float) -> int:
    """Validate, preview, show the plan, confirm, and apply it to one environment.

    \b
    Examples:
      flexor deploy --env staging
      flexor deploy --env production --dry-run
      flexor deploy --env production --agent feed-monitor --yes
      flexor deploy --env staging --plan-out staging.plan
      flexor deploy --env staging --plan staging.plan
      flexor deploy --env production --request R-1a2b3c4d

    \b
    The environment is locked from the preview to the end of the apply (while the
    prompt waits too); a deploy that finds it busy waits in line, saying whom it
    waits behind and its place (up to 30m, or --lock-timeout; 0 refuses at once,
    naming the holder). The plan is applied only if nothing it was made from moved
    since (state, project files, bound snapshots): otherwise exit 3, nothing applied.
    Without a terminal on stdin, applying needs --yes (exit 64 otherwise).

    \b
    A PLEXI-managed production (flexor:managed) turns a deploy into a deployment
    request: staging gets it for a 48-hour review, someone else approves it, and
    `--request` applies exactly that plan inside a maintenance window.
    """
    from flexor_iac.commands import deploy as command

    current = settings()
    request = command.DeployRequest(env, agents, dry_run or plan_out is not None,
                                    yes, refresh, detailed_exitcode, request_id,
                                    allow_downgrade, lock_timeout, plan_out, saved_plan)
    return command.run(current.paths(), request, current.console(), ask)


@click.command()
@global_options
@click.option("--vault", "vaults", multiple=True, metavar="NAME",
              help="The vault to publish (repeatable).")
@click.option("--all", "every", is_flag=True, help="Publish every vault of the project.")
@dry_run_option("Say what would be published; change nothing.")
def sync(vaults: tuple[str, ...], every: bool, dry_run: bool) -> int:
    """Publish a vault as an immutable, content-addressed snapshot.

    \b
    Like pushing an image before deploying it: no environment changes until
    `flexor deploy` binds the newest snapshot. Unchanged content is a no-op.

    \b
    Examples:
      flexor sync --vault company
      flexor sync --vault company --vault desk --dry-run
      flexor sync --all
    """
    from flexor_iac.commands import sync as command

    if every == bool(vaults):
        raise UsageError("pass --vault NAME (repeatable) or --all")
    current = settings()
    return command.run(current.paths(), None if every else vaults, dry_run, current.console())


@click.command()
@global_options
@env_option
def status(env: Environment) -> int:
    """Show the health of one environment in five lines.

    \b
    Example:
      flexor status --env production
    """
    from flexor_iac.commands import status as command

    current = settings()
    return command.run(current.paths(), env, current.console())


@click.command()
@global_options
@click.argument("directory", required=False, default=".",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--vault", default="project", show_default=True, metavar="NAME",
              help="Name of the project's first vault (L4).")
def init(directory: Path, vault: str) -> int:
    """Create a new Flexor project: Pulumi files, one vault with a skill, one agent.

    \b
    The project validates and deploys as created (the agent is declared for sandbox).

    \b
    Examples:
      flexor init my-project
      flexor init . --vault desk
    """
    from flexor_iac.commands import init as command

    return command.run(directory, vault, settings().console())


@click.command()
@global_options
@env_option
@agent_option("The agent to roll back.", required=True, checked=True)
@click.option("--version", "version", metavar="V", callback=version_name,
              help="A retained version (default: the one before the current one).")
@dry_run_option()
@yes_option
@lock_timeout_option
def rollback(env: Environment, agent: str, version: str | None, dry_run: bool, yes: bool,
             lock_timeout: float) -> int:
    """Roll one agent back to one of its last three deployed versions.

    \b
    Shows the plan first, then updates that agent only. The agent is then held at the
    old version while its file still says the version rolled back from.

    \b
    Examples:
      flexor rollback --agent feed-monitor --env production
      flexor rollback --agent feed-monitor --version 1.2 --env production --dry-run
    """
    from flexor_iac.commands import rollback as command

    current = settings()
    request = command.RollbackRequest(env, agent, version, dry_run, yes,
                                      lock_timeout)
    return command.run(current.paths(), request, current.console(), ask)


@click.command()
@global_options
@env_option
@agent_option("Only this agent's updates and versions.", checked=True)
@click.option("--limit", type=LIMIT, default=50, show_default=True, metavar="N",
              help="Look at the newest N operations of the stack (its updates are shown).")
def history(env: Environment, agent: str | None, limit: int) -> int:
    """Show an environment's deployments and each agent's retained versions.

    \b
    Reads the stack's state files, not the engine, on the embedded and the team backend:
    only the newest N operations are read, however long the history.

    \b
    Examples:
      flexor history --env production --agent feed-monitor
      flexor history --env staging --limit 200
    """
    from flexor_iac.commands import history as command

    current = settings()
    return command.run(current.paths(), env, agent, current.console(), limit)


def register(group: click.Group) -> None:
    """Add the project and deploy verbs to the `flexor` group."""
    for command in (validate, deploy, sync, status, init, rollback, history):
        group.add_command(command)
