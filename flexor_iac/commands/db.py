"""`flexor db status`: where the control plane and the Pulumi state are, the schema's version,
and the environment locks (who holds them, and since when). `flexor db migrate-from-local`:
move an embedded project (control plane, snapshots, PlexiFact catalogs, Pulumi state with its
history) into an empty team database, in one transaction."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexor_iac.controlplane import transfer
from flexor_iac.controlplane.database import connect
from flexor_iac.controlplane.location import DB_NAME, is_url, locate, redacted, team_database
from flexor_iac.controlplane.locks import team_locks
from flexor_iac.controlplane.migrate import HEAD, schema_version
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import PolicyRefusal, UsageError
from flexor_iac.core.locking import LockState, local_locks, operation_lock
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import team_state
from flexor_iac.deploy.engine_workspace import backend_url
from flexor_iac.deploy.snapshots import snapshot_directory
from flexor_iac.project.files import Unreadable, read_text
from flexor_iac.runtime.plexifact import embedded_catalogs

MAX_KEY_FILE_BYTES = 64 << 10  # a passphrase is one line


def _schema(found: int | None) -> str:
    if found == HEAD:
        return f"{found} (current)"
    if found is None:
        return f"none yet (made at schema {HEAD} by the first command that writes)"
    if found > HEAD:
        return f"{found} (newer than this flexor knows, {HEAD}: upgrade flexor-iac)"
    return f"{found} (brought to {HEAD} by the next command that opens it)"


def _lock_line(lock: LockState) -> str:
    if lock.held:
        return f"  {lock.environment}: held by {lock.holder.describe()}"
    return (f"  {lock.environment}: free; its last holder ended without finishing "
            f"({lock.holder.describe()}), the next operation recovers")


def status(paths: ProjectPaths, console: Console) -> int:
    """Print (or with --json, return) the control plane's whereabouts, schema and locks."""
    where = locate(paths.root)
    team = is_url(where)
    shown, found = _read_schema(where)
    locks = team_locks(str(where)) if team and found is not None else local_locks(paths)
    state = redacted(backend_url(paths))
    console.line(f"control plane: {shown} "
                 f"({'team mode, PostgreSQL' if team else 'embedded, SQLite'})")
    console.line(f"schema:        {_schema(found)}")
    console.line(f"Pulumi state:  {state}")
    console.line("locks:         " + ("none" if not locks else ""))
    for lock in locks:
        console.line(_lock_line(lock))
    console.document(_document(shown, team, found, state, locks))
    return ExitCode.OK


def _read_schema(where: Path | str) -> tuple[str, int | None]:
    """(where the control plane is, as shown; its schema version), read without creating or
    migrating it."""
    if not is_url(where) and not Path(where).is_file():
        return str(Path(where).resolve()), None
    database = connect(where)
    try:
        return database.where, schema_version(database)
    finally:
        database.close()


def _document(shown: str, team: bool, found: int | None, state: str,
              locks: list[LockState]) -> dict[str, Any]:
    return {
        "control_plane": shown, "mode": "team" if team else "embedded",
        "schema": {"version": found, "current": HEAD}, "pulumi_state": state,
        "locks": [{"environment": lock.environment, "held": lock.held,
                   "user": lock.holder.user, "host": lock.holder.host,
                   "pid": lock.holder.pid, "command": lock.holder.command,
                   "since": lock.holder.since} for lock in locks],
    }


@dataclass(frozen=True)
class Move:
    """`flexor db migrate-from-local`'s flags."""

    yes: bool = False
    dry_run: bool = False


_SHOWN = ("environments", "agents", "snapshots", "runs", "api_keys", "grants", "requests",
          "catalogs")


def _same_passphrase(paths: ProjectPaths) -> None:
    """The team's passphrase must be the one the embedded stacks were encrypted with."""
    made_here = paths.passphrase_file
    if not made_here.is_file():
        return  # the stacks were always encrypted with a passphrase given by the caller
    given = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if given is None and (named := os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        try:
            given = read_text(named, MAX_KEY_FILE_BYTES).rstrip("\n")
        except Unreadable as error:
            raise UsageError(f"PULUMI_CONFIG_PASSPHRASE_FILE: cannot read {named} "
                             f"({error.reason})") from None
    try:
        made = read_text(made_here, MAX_KEY_FILE_BYTES).rstrip("\n")
    except Unreadable as error:
        raise UsageError(f"cannot read this clone's passphrase file {made_here} "
                         f"({error.reason}); nothing was moved") from None
    if given != made:
        raise UsageError(f"this clone's stacks are encrypted with the passphrase in {made_here}: "
                         f"make it the team's (PULUMI_CONFIG_PASSPHRASE_FILE={made_here}, and "
                         "the same secret on every runner), then move (nothing was moved)")


def _with_local_snapshots(paths: ProjectPaths, moved: transfer.Export) -> transfer.Export:
    """Snapshots published before their content was kept in the control plane: their files,
    from this clone's snapshot folders (a clone elsewhere has no other way to get them)."""
    files = moved.tables["snapshot_files"]
    stored = {row[0] for row in files.rows}
    added = list(files.rows)
    for digest in dict.fromkeys(row[1] for row in moved.tables["snapshots"].rows):
        folder = snapshot_directory(paths, digest)
        if digest in stored or not folder.is_dir():
            continue
        added += [(digest, path.relative_to(folder).as_posix(), path.read_bytes())
                  for path in sorted(folder.rglob("*")) if path.is_file()]
    tables = {**moved.tables, "snapshot_files": transfer.Table(files.columns, added)}
    return transfer.Export(moved.identity, tables, moved.extra)


def _with_local_catalogs(paths: ProjectPaths, moved: transfer.Export) -> transfer.Export:
    """The embedded PlexiFact catalogs (files in .flexor/plexifact/), as the team control
    plane keeps catalogs."""
    tables = dict(moved.tables)
    for found in embedded_catalogs(paths.state_dir):
        for name, rows in (("catalogs", [(found.uri, found.loaded_at)]),
                           ("catalog_feeds", [(found.uri, *row) for row in found.feeds]),
                           ("catalog_positions", [(found.uri, *row) for row in found.positions])):
            tables[name] = transfer.Table(tables[name].columns, [*tables[name].rows, *rows])
    return transfer.Export(moved.identity, tables, moved.extra)


def migrate_from_local(paths: ProjectPaths, move: Move, console: Console,
                       confirm: Callable[[str], bool]) -> int:
    """Move the embedded control plane and Pulumi state into the (empty) team database."""
    url = team_database(paths.root)
    if url is None:
        raise UsageError("set FLEXOR_DATABASE_URL to the team database to move this project into")
    local = Path(os.environ.get("FLEXOR_CONTROL_PLANE") or paths.state_dir / DB_NAME)
    if not local.is_file():
        raise UsageError(f"no embedded control plane at {local}: nothing to move")
    _same_passphrase(paths)
    with ExitStack() as held:
        for env in Environment:  # no deploy, rollback or run of this clone changes it meanwhile
            held.enter_context(operation_lock(paths, env))
        source = held.enter_context(ControlPlane(local))
        files = team_state.local_state(paths)
        moved = transfer.with_extra(transfer.export(source),
                                    {team_state.TABLE: team_state.rows(url, files)})
        moved = _with_local_catalogs(paths, _with_local_snapshots(paths, moved))
        console.line(f"Moving {local} and {paths.backend_dir} into {redacted(url)}:")
        console.line("  " + ", ".join(f"{moved.count(table)} {table}" for table in _SHOWN))
        console.line(f"  stacks: {', '.join(team_state.stack_names(files)) or 'none'} "
                     f"({len(files)} state files, history and backups included)")
        if move.dry_run:
            console.line("Dry run: nothing was moved (the team database was not touched).")
            return ExitCode.OK
        if not console.approved("Move them?", move.yes, confirm, "moving the project"):
            console.line("Nothing was moved.")
            return ExitCode.OK
        target = held.enter_context(ControlPlane(url))
        if busy := transfer.occupied(target):
            raise PolicyRefusal(f"refused: the team database already holds a control plane "
                                f"({', '.join(busy)}); migrate-from-local fills only an empty "
                                "one (nothing was moved)")
        team_state.create_table(paths, url)
        if stacks := team_state.team_stacks(target, url):
            raise PolicyRefusal(f"refused: the team database's Pulumi state already holds "
                                f"stacks ({', '.join(stacks)}); nothing was moved")
        transfer.load(target, moved)  # checks again, under the database's write lock
    console.line("Moved. Every clone and CI runner now works on the team database with "
                 "FLEXOR_DATABASE_URL and the team passphrase; this clone's .flexor/ was left "
                 "as it was (remove it once the team has switched).")
    return ExitCode.OK
