"""The line of operations waiting for an environment's team lock: a `deploy_queue` row each.

A waiter's ticket is its row's number, drawn from the table's sequence, in arrival order. The
row is made and a session-level advisory lock on it taken in one transaction on the waiter's
own connection (the one that will hold the environment's lock), so no other session ever sees
the row without its lock; the server drops that lock when the connection ends — the waiter
killed, or its machine gone (TCP keepalives) — and the row is then recognisably dead: whoever
looks next removes it. Only the first live ticket may try the environment's advisory lock
(controlplane.locks), so a later arrival, from any machine, never takes it ahead of an
earlier one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flexor_iac.core.constants import Environment
from flexor_iac.core.locking import Holder, Look

if TYPE_CHECKING:
    import psycopg

# The first key of every ticket's advisory lock ("FLXQ"); the ticket's number is the second.
# Two-key advisory locks show objsubid 2 in pg_locks: no environment's lock (one 64-bit key,
# objsubid 1) is ever taken for a ticket's, or the other way round.
TICKET_KEY = 0x464C5851

_DEAD = """
DELETE FROM deploy_queue AS q WHERE q.environment = %s AND NOT EXISTS (
    SELECT 1 FROM pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = %s::oid AND l.objid = q.ticket::oid)
"""


@contextmanager
def ticket(connection: psycopg.Connection[Any], env: Environment) -> Iterator[int]:
    """Stand in line for the environment's lock on `connection` for the block (its number)."""
    import psycopg

    with connection.transaction():
        row = connection.execute(
            "INSERT INTO deploy_queue (environment, waiter) VALUES (%s, %s) RETURNING ticket",
            (env.value, Holder.me().dump())).fetchone()
        assert row is not None
        number = int(row[0])
        connection.execute("SELECT pg_advisory_lock(%s::int4, %s::int4)", (TICKET_KEY, number))
    try:
        yield number
    finally:
        # A connection lost meanwhile took its lock with it: the next look removes the row.
        with contextlib.suppress(psycopg.Error):
            connection.execute("DELETE FROM deploy_queue WHERE ticket = %s", (number,))
            connection.execute("SELECT pg_advisory_unlock(%s::int4, %s::int4)",
                               (TICKET_KEY, number))


def look(connection: psycopg.Connection[Any], env: Environment, number: int,
         take: Callable[[], bool], holder: Callable[[], Holder | None]) -> Look:
    """One look along the line: dead waiters' tickets removed, the lock tried (`take`) when
    this ticket is first, else its place and the holder."""
    connection.execute(_DEAD, (env.value, TICKET_KEY))
    row = connection.execute("SELECT count(*) FROM deploy_queue WHERE environment = %s AND "
                             "ticket < %s", (env.value, number)).fetchone()
    ahead = int(row[0]) if row else 0
    if ahead == 0 and take():
        return Look(True)
    return Look(False, ahead + 1, holder())

