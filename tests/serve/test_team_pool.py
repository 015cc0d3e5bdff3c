"""The team queue's connection pool: each of procrastinate's queries commits on its own, a busy
pool lends its connections without a round trip to check them, and a connection cut while it
rested is replaced before it is lent (the next job still runs)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from flexor_iac.serve import team_pool
from flexor_iac.serve.team_pool import QueuePool


async def _backend(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as connection:
        cursor = await connection.execute("SELECT pg_backend_pid()")
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


def test_a_statement_commits_on_its_own(team_database: str) -> None:
    async def scenario() -> None:
        async with QueuePool(team_database, 2) as pool, pool.connection() as connection:
            await connection.execute("CREATE TABLE seen (x int)")
            await connection.execute("INSERT INTO seen VALUES (1)")
            with psycopg.connect(team_database) as other:  # while it is still lent
                assert other.execute("SELECT count(*) FROM seen").fetchone() == (1,)
    asyncio.run(scenario())


def test_a_busy_pool_lends_without_checking(team_database: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[object] = []
    original = AsyncConnectionPool.check_connection

    async def counting(connection: psycopg.AsyncConnection) -> None:
        checked.append(connection)
        await original(connection)
    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counting))

    async def scenario() -> None:
        async with QueuePool(team_database, 1) as pool:
            first = await _backend(pool)  # new: checked once
            assert {await _backend(pool) for _ in range(20)} == {first}
    asyncio.run(scenario())
    assert len(checked) == 1


def test_a_connection_cut_while_it_rested_is_replaced(team_database: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(team_pool, "IDLE_CHECK", 0.05)

    async def scenario() -> None:
        async with QueuePool(team_database, 1) as pool:
            cut = await _backend(pool)
            with psycopg.connect(team_database, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (cut,))
            await asyncio.sleep(0.1)  # it rested longer than IDLE_CHECK
            assert await _backend(pool) != cut  # lent again: a new connection, no error
    asyncio.run(scenario())
