"""The `flexor db` verbs: the control plane's database (team mode or embedded).

Click-aware like main.py (which registers these on its group); each command is thin and calls
flexor_iac.commands.db.
"""

from __future__ import annotations

import click

from flexor_iac.cli.options import ask, dry_run_option, global_options, settings, yes_option


@click.group()
def db() -> None:
    """The control plane's database: where it is, its schema, its locks, moving to a team's.

    \b
    Embedded (default): SQLite in .flexor/. Team mode: FLEXOR_DATABASE_URL=postgresql://…
    (or flexor:database in Pulumi.yaml's config) puts the control plane, the Pulumi state
    and the environment locks in one PostgreSQL shared by every clone and CI runner.
    """


@db.command("status")
@global_options
def db_status() -> int:
    """Show where the control plane and the Pulumi state are, the schema version, and who
    holds each environment's lock.

    \b
    Examples:
      flexor db status
      FLEXOR_DATABASE_URL=postgresql://flexor@db.internal/flexor flexor db status --json
    """
    from flexor_iac.commands import db as command

    current = settings()
    return command.status(current.paths(), current.console())


@db.command("migrate-from-local")
@global_options
@dry_run_option("Show what would move and stop; moves nothing.")
@yes_option
def db_migrate_from_local(dry_run: bool, yes: bool) -> int:
    """Move this embedded project into the team database (FLEXOR_DATABASE_URL).

    \b
    Everything moves, in one transaction: environments, vault snapshots with their
    files, deployed agents and holds, runs, logs, audit, outbox, keys, roles, requests,
    PlexiFact catalogs, and every stack's Pulumi state with its history. The team
    database must be empty, and the team's passphrase must be the one this clone's
    stacks were encrypted with (.flexor/passphrase unless you set
    PULUMI_CONFIG_PASSPHRASE). This clone's .flexor/ is left as it was.

    \b
    Examples:
      export FLEXOR_DATABASE_URL=postgresql://flexor@db.internal/flexor
      export PULUMI_CONFIG_PASSPHRASE_FILE=.flexor/passphrase
      flexor db migrate-from-local --dry-run
      flexor db migrate-from-local --yes
    """
    from flexor_iac.commands import db as command

    current = settings()
    return command.migrate_from_local(current.paths(), command.Move(yes, dry_run),
                                      current.console(), ask)


def register(group: click.Group) -> None:
    """Add the `db` verbs to the `flexor` group."""
    group.add_command(db)
