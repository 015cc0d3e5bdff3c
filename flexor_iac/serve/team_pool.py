"""The connection pool of team mode's queue: procrastinate's, less two round trips a query.

procrastinate's own pool checks every connection it lends with an empty query and runs each
query in a transaction it commits: three round trips for each query, two queries (take,
finish) for every job. Here the connections are in autocommit (each of procrastinate's
queries is one statement calling one of its functions; none spans a transaction), and a
connection is checked before it is lent only when it has rested in the pool for IDLE_CHECK
seconds: a connection cut while the server was quiet (PostgreSQL restarted, a proxy's idle
timeout) is still found and replaced before a query fails on it, without a round trip per
query while the server is busy.
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

IDLE_CHECK = 2.0  # seconds a connection may rest in the pool and be lent unchecked


class QueuePool(AsyncConnectionPool):
    """procrastinate's pool for one queue: at most `size` autocommit connections to `url`,
    opened and closed by its owner (TeamQueue)."""

    def __init__(self, url: str, size: int) -> None:
        self._returned: WeakKeyDictionary[AsyncConnection[Any], float] = WeakKeyDictionary()
        super().__init__(url, min_size=1, max_size=size, open=False, name="flexor-queue",
                         configure=_autocommit, check=self._check_rested)

    async def putconn(self, conn: AsyncConnection[Any]) -> None:
        self._returned[conn] = time.monotonic()
        await super().putconn(conn)

    async def _check_rested(self, conn: AsyncConnection[Any]) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > IDLE_CHECK:
            await AsyncConnectionPool.check_connection(conn)


async def _autocommit(conn: AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)
