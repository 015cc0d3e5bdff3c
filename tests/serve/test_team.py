"""Several servers on one PostgreSQL (team mode, procrastinate's queue): each due tick, event
and webhook runs exactly once, whichever server takes it."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.errors import StateError
from flexor_iac.serve.jobs import Job, new_run_id, tick_job
from flexor_iac.serve.service import Service
from flexor_iac.serve.team_queue import DEFERS, TeamQueue
from tests.helpers.flexor_serve import (
    DEPLOYED_AT,
    PROBE,
    SimulatedClock,
    deploy,
    executed,
    runs,
    scheduled,
    scheduled_runs,
    service,
    tick_run,
)
from tests.helpers.project import write_agent
from tests.helpers.waiting import eventually_async


@pytest.fixture
def team(project: Path, team_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-team-passphrase")
    return team_database


def servers(project: Path, url: str, clock: SimulatedClock, count: int) -> list[Service]:
    return [service(project, clock, TeamQueue(url, "staging", workers=2)) for _ in range(count)]


async def settle(url: str, timeout: float = 120.0) -> None:
    """Wait until the staging queue has no job waiting or running."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        async def empty() -> bool:
            cursor = await connection.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name='flexor-staging' "
                "AND status IN ('todo', 'doing')")
            row = await cursor.fetchone()
            return row is not None and row[0] == 0
        await eventually_async(empty, "the queue did not empty", timeout=timeout)


def test_200_scheduled_agents_on_three_servers_run_each_due_tick_exactly_once(
        project: Path, team: str) -> None:
    every_minute = [f"minutely-{n:03d}" for n in range(50)]
    every_five = [f"five-{n:03d}" for n in range(150)]
    for name in every_minute:
        scheduled(project, name, "* * * * *")
    for name in every_five:
        scheduled(project, name, "*/5 * * * *")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT)
    three = servers(project, team, clock, 3)

    async def ten_minutes() -> None:
        for server in three:
            await server.start(loops=False)
        try:
            for _ in range(10 * 2):  # each server looks at the clock every 30 s
                clock.advance(seconds=30)
                await asyncio.gather(*(server.tick() for server in three))
            await settle(team)
        finally:
            for server in three:
                await server.stop()
    asyncio.run(ten_minutes())

    base = DEPLOYED_AT.replace(second=0)
    expected = {tick_run(name, base + timedelta(minutes=m))
                for name in every_minute for m in range(1, 11)}
    expected |= {tick_run(name, base + timedelta(minutes=m))
                 for name in every_five for m in (5, 10)}
    recorded = scheduled_runs(project)
    assert len(expected) == 800
    assert set(recorded) == expected and set(recorded.values()) == {1}
    assert executed(*three) == 800  # no server ran a tick another had run
    assert all(sum(executed(s) for s in [server]) > 0 for server in three)  # all took work


def test_an_event_seen_by_three_servers_runs_each_matching_agent_once(
        project: Path, team: str) -> None:
    for name in ("positions-a", "positions-b"):
        write_agent(project, name, PROBE, trigger="type: event\n  source: plexifact\n"
                    "  event: fund.positions.updated")
    deploy(project)
    with ControlPlane(locate(project)) as store:
        store.record_event("staging", "fund.positions.updated", "plexifact", {"fund_id": "X"},
                           DEPLOYED_AT.isoformat(), "ops")
    clock = SimulatedClock(DEPLOYED_AT)
    three = servers(project, team, clock, 3)

    async def go() -> None:
        for server in three:
            await server.start(loops=False)
        try:
            for _ in range(3):
                clock.advance(seconds=1)
                await asyncio.gather(*(server.tick() for server in three))
            await settle(team)
        finally:
            for server in three:
                await server.stop()
    asyncio.run(go())
    assert sorted(r.agent for r in runs(project)) == ["positions-a", "positions-b"]
    assert executed(*three) == 2


def test_a_minutes_ticks_deferred_in_one_batch_are_queued_once_across_servers(
        project: Path, team: str) -> None:
    deploy(project)  # the schema, procrastinate's included
    minute = DEPLOYED_AT.replace(second=0) + timedelta(minutes=1)
    ticks = [tick_job("staging", f"agent-{n}", minute, 0, False) for n in range(5)]
    later = tick_job("staging", "agent-0", minute + timedelta(minutes=1), 0, False)
    hook = Job("staging", "hooked", "webhook", new_run_id(), minute.isoformat())

    async def go() -> tuple[list[bool], list[bool]]:
        first, second = (TeamQueue(team, "staging", workers=1) for _ in range(2))
        await first.app.open_async()
        await second.app.open_async()
        try:
            taken = await first.submit_many(ticks[:3])
            # The other server's look: the same minute (all of it) and one later tick.
            return taken, await second.submit_many([hook, *reversed(ticks), later])
        finally:
            await first.app.close_async()
            await second.app.close_async()
    assert asyncio.run(go()) == ([True] * 3, [True, True, True, False, False, False, True])
    with psycopg.connect(team) as connection:
        row = connection.execute("SELECT count(*) FROM procrastinate_jobs WHERE "
                                 "queue_name='flexor-staging'").fetchone()
    assert row is not None and row[0] == 7  # 5 ticks of the minute, the later one, the hook


def test_webhooks_submitted_at_once_are_deferred_together_and_fail_together(
        project: Path, team: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(project)
    queue = TeamQueue(team, "staging", workers=1)
    batches: list[int] = []
    query = queue.app.connector.execute_query_all_async

    async def counted(sql: str, **arguments: Any) -> list[Any]:
        if sql == DEFERS:  # the insert of a batch
            batches.append(len(arguments["args"].obj))
            if len(batches) > 1:
                raise StateError("the queue's database is gone")
        return await query(sql, **arguments)  # type: ignore[arg-type]
    monkeypatch.setattr(queue.app.connector, "execute_query_all_async", counted)

    def hooks(count: int) -> list[Job]:
        return [Job("staging", "hooked", "webhook", new_run_id(), DEPLOYED_AT.isoformat())
                for _ in range(count)]

    async def go() -> list[Any]:
        await queue.app.open_async()
        try:
            assert await asyncio.gather(*(queue.submit(job) for job in hooks(20))) == [True] * 20
            assert await queue.depth() == 20
            return await asyncio.gather(*(queue.submit(job) for job in hooks(5)),
                                        return_exceptions=True)
        finally:
            await queue.app.close_async()
    failed = asyncio.run(go())
    assert batches == [20, 5]  # one insert for each burst of submits
    assert all(isinstance(error, StateError) for error in failed)  # none of the 5 was queued


@pytest.mark.parametrize("shown", [True, False], ids=["INFO shown", "INFO not shown"])
def test_procrastinate_says_which_job_ended_when_its_info_lines_are_shown(
        project: Path, team: str, caplog: pytest.LogCaptureFixture, shown: bool) -> None:
    write_agent(project, "hooked", PROBE, trigger="type: webhook\n  path: /hooked")
    deploy(project)
    caplog.set_level(logging.INFO if shown else logging.WARNING, logger="procrastinate")
    server = service(project, SimulatedClock(DEPLOYED_AT), TeamQueue(team, "staging", 1))

    async def go() -> None:
        await server.start(loops=False)
        try:
            await server.queue.submit(Job("staging", "hooked", "webhook", new_run_id(),
                                          DEPLOYED_AT.isoformat()))
            await settle(team)
        finally:
            await server.stop()
    asyncio.run(go())
    assert [r.agent for r in runs(project)] == ["hooked"]  # run either way
    ended = [r for r in caplog.records if "ended with status: Success" in r.getMessage()]
    assert [getattr(r, "job", {}).get("task_name") for r in ended] == \
        (["flexor.fire"] if shown else [])
