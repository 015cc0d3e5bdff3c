"""Each environment's operation lock, for every clone and runner of a team.

`environment_lock` always takes the machine's own lock (core.locking: flock, which the
kernel drops when its holder dies; the providers started by the holder recognise it). In team
mode it also takes the environment's PostgreSQL advisory lock, on a connection of its own held
for the whole operation: the server drops the lock when that connection ends, a killed holder
included (TCP keepalives bound how long a vanished machine keeps it), so no lock outlives its
holder and none needs breaking by hand. Who holds it is written to `operation_locks`, so a
refused operation names the holder as it does on one machine, and `flexor db status` lists it.
Operations that find it held wait in line, first come first served, across every machine
(controlplane.queue), then take this machine's lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flexor_iac.controlplane import queue
from flexor_iac.controlplane.location import team_database
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import StateError
from flexor_iac.core.locking import (
    Holder,
    LockState,
    operation_lock,
    unfinished,
    wait_in_line,
)
from flexor_iac.core.workspace import ProjectPaths

if TYPE_CHECKING:
    import psycopg

# Team locks this process holds: (database, environment) → how many times it took each.
_HELD: dict[tuple[str, Environment], int] = {}


@contextmanager
def environment_lock(paths: ProjectPaths, env: Environment, timeout: float = 0.0,
                     say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the environment's operation lock for the block — this machine's, and the team's
    in team mode; refuse (exit 3) naming the holder. `timeout` and `say` as in
    core.locking.operation_lock. A process that holds it may take it again.

    In team mode the team's line comes first, so that waiters are served in the order they
    came from whichever machine; this machine's lock is then rarely held by anyone else (by
    an operation that takes only it, such as `flexor db migrate-from-local`)."""
    url = team_database(paths.root)
    if url is None:
        with operation_lock(paths, env, timeout, say):
            yield
        return
    deadline = time.monotonic() + timeout
    with _team_lock(url, env, timeout, say), \
            operation_lock(paths, env, max(0.0, deadline - time.monotonic()), say):
        yield


@contextmanager
def _team_lock(url: str, env: Environment, timeout: float,
               say: Callable[[str], None] | None) -> Iterator[None]:
    held = (url, env)
    if held in _HELD:
        _HELD[held] += 1
        try:
            yield
        finally:
            _HELD[held] -= 1
        return
    import psycopg

    connection = _connect(url)
    try:
        with queue.ticket(connection, env) as number:
            wait_in_line(env, timeout, say, lambda: queue.look(
                connection, env, number, lambda: _try(connection, env),
                lambda: _holder(connection, env)))
        previous = _holder(connection, env)
        if previous is not None and say is not None:
            say(unfinished(env, previous))
        connection.execute("INSERT INTO operation_locks VALUES (%s, %s) ON CONFLICT "
                           "(environment) DO UPDATE SET holder=excluded.holder",
                           (env.value, Holder.me().dump()))
        _HELD[held] = 1
        try:
            yield
        finally:
            del _HELD[held]
            # A connection lost meanwhile released the lock with it: nothing left to undo.
            with contextlib.suppress(psycopg.Error):
                connection.execute("DELETE FROM operation_locks WHERE environment=%s",
                                   (env.value,))
                connection.execute("SELECT pg_advisory_unlock(%s)", (lock_key(env),))
    finally:
        connection.close()


def _connect(url: str, prepare: bool = True) -> psycopg.Connection[Any]:
    """A connection of its own (an advisory lock lives as long as its session); `prepare`:
    first bring the schema (operation_locks) up to date."""
    import psycopg

    from flexor_iac.controlplane.database import unreachable
    from flexor_iac.controlplane.store import ControlPlane

    if prepare:
        ControlPlane(url).close()
    try:
        return psycopg.connect(url, autocommit=True, keepalives=1, keepalives_idle=30,
                               keepalives_interval=10, keepalives_count=3)
    except psycopg.Error as error:
        raise StateError(unreachable(url, error)) from None


def lock_key(env: Environment) -> int:
    """The environment's advisory-lock key (a signed 64-bit number, as PostgreSQL takes)."""
    digest = hashlib.sha256(f"flexor-iac operation lock {env.value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try(connection: psycopg.Connection[Any], env: Environment) -> bool:
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(env),)).fetchone()
    return row is not None and row[0] is True


def _holder(connection: psycopg.Connection[Any], env: Environment) -> Holder | None:
    row = connection.execute("SELECT holder FROM operation_locks WHERE environment=%s",
                             (env.value,)).fetchone()
    return Holder.parse(row[0]) if row else None


def team_locks(url: str) -> list[LockState]:
    """Every recorded holder of a team lock, and whether the lock is still held (read from
    pg_locks, without taking it, and without creating or migrating anything)."""
    connection = _connect(url, prepare=False)
    try:
        if connection.execute("SELECT to_regclass('operation_locks')").fetchone() == (None,):
            return []  # a database older than team locks: none was ever taken
        held = {row[0] for row in connection.execute(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks WHERE "
            "locktype = 'advisory' AND objsubid = 1 AND granted").fetchall()}
        found = []
        for environment, text in connection.execute(
                "SELECT environment, holder FROM operation_locks ORDER BY environment"):
            if (holder := Holder.parse(text)) is not None and environment in _ENVIRONMENTS:
                key = lock_key(Environment(environment))  # signed, as PostgreSQL computes it
                found.append(LockState(environment, holder, key in held))
        return found
    finally:
        connection.close()


_ENVIRONMENTS = {env.value for env in Environment}
