"""The connection pool of team mode's queue: procrastinate's, less two round trips a query.

procrastinate's own pool checks every connection it lends with an empty query and runs each
query in a transaction it commits: three round trips for each query, two queries (take,
finish) for every job. Here the connections are in autocommit (each of procrastinate's
queries is one statement calling one of its functions; none spans a transaction), and a
connection is checked before it is lent only when it has been idle for IDLE_CHECK seconds:
a connection cut while the server was quiet (PostgreSQL restarted, a proxy's idle timeout) is
still found and replaced before a query fails on it, without a round trip per query while
the server is busy.
"""

from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

IDLE_CHECK = 2.0  # seconds a connection may rest in the pool and be lent unchecked


def queue_pool(url: str, size: int) -> AsyncConnectionPool:
    """A pool (not yet open) of at most `size` autocommit connections to `url`."""
    rested: WeakKeyDictionary[AsyncConnection, float] = WeakKeyDictionary()

    async def configure(connection: AsyncConnection) -> None:
        await connection.set_autocommit(True)

    async def returned(connection: AsyncConnection) -> None:
        rested[connection] = time.monotonic()

    async def check(connection: AsyncConnection) -> None:
        since = rested.get(connection)
        if since is None or time.monotonic() - since > IDLE_CHECK:
            await AsyncConnectionPool.check_connection(connection)

    return AsyncConnectionPool(url, min_size=1, max_size=size, open=False, name="flexor-queue",
                               configure=configure, reset=returned, check=check)
