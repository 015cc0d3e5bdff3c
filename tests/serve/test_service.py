"""One server on the embedded store, on a simulated clock: schedules fire each due tick once,
missed ticks catch up once, pauses and deploys are picked up, events reach matching agents."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.serve.jobs import Job, Runner, new_run_id
from flexor_iac.serve.queues import LocalQueue
from flexor_iac.serve.service import Service
from tests.helpers.flexor_serve import (
    DEPLOYED_AT,
    PROBE,
    SimulatedClock,
    deploy,
    drain,
    executed,
    runs,
    scheduled,
    scheduled_runs,
    service,
    tick_run,
)
from tests.helpers.project import write_agent


def minutes(clock: SimulatedClock, service_: Service, count: int) -> None:
    """Let `count` simulated minutes pass, the server looking at the clock every 20 s."""
    async def go() -> None:
        await service_.start(loops=False)
        try:
            for _ in range(count * 3):
                clock.advance(seconds=20)
                await service_.tick()
                await drain(service_)
        finally:
            await service_.stop()
    asyncio.run(go())


def test_each_due_tick_runs_exactly_once(project: Path) -> None:
    scheduled(project, "every-minute", "* * * * *")
    scheduled(project, "every-other", "*/2 * * * *")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT)
    server = service(project, clock)
    minutes(clock, server, 10)
    base = DEPLOYED_AT.replace(second=0)
    expected = {tick_run("every-minute", base + timedelta(minutes=m)) for m in range(1, 11)}
    expected |= {tick_run("every-other", base + timedelta(minutes=m)) for m in (2, 4, 6, 8, 10)}
    recorded = scheduled_runs(project)
    assert set(recorded) == expected and set(recorded.values()) == {1}
    assert executed(server) == len(expected)
    assert all(r.status == "success" for r in runs(project))


def test_a_paused_agent_is_not_fired_and_its_ticks_do_not_pile_up(project: Path) -> None:
    scheduled(project, "every-minute", "* * * * *")
    deploy(project)
    with ControlPlane(locate(project)) as store:
        store.set_paused("staging", "every-minute", True)
    clock = SimulatedClock(DEPLOYED_AT)
    minutes(clock, service(project, clock), 5)
    assert runs(project) == []
    with ControlPlane(locate(project)) as store:
        store.set_paused("staging", "every-minute", False)
    minutes(clock, service(project, clock), 1)  # resumed: the next tick only, no catch-up
    [run] = runs(project)
    assert run.run_id == tick_run("every-minute", DEPLOYED_AT.replace(second=0)
                                  + timedelta(minutes=6))


def test_a_tick_missed_while_no_server_ran_fires_once_on_start_and_says_so(
        project: Path) -> None:
    scheduled(project, "hourly", "0 * * * *")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT + timedelta(hours=3, minutes=10))
    minutes(clock, service(project, clock), 1)
    [run] = runs(project)
    assert run.run_id == tick_run("hourly", DEPLOYED_AT.replace(minute=0, second=0)
                                  + timedelta(hours=3))
    with ControlPlane(locate(project)) as store:
        log = [line.message for line in store.run_log(run.run_id)]
    assert any("catch-up" in line and "2 older tick(s) missed while no server ran, not run"
               in line for line in log)


def test_catch_up_false_skips_the_missed_tick(project: Path) -> None:
    scheduled(project, "hourly", "0 * * * *", "\n  catch_up: false")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT + timedelta(hours=3, minutes=10))
    minutes(clock, service(project, clock), 1)
    assert runs(project) == []


def test_a_deploy_is_picked_up_without_a_restart(project: Path) -> None:
    scheduled(project, "first", "* * * * *")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT)
    server = service(project, clock)

    async def go() -> None:
        await server.start(loops=False)
        for _ in range(3):
            clock.advance(seconds=20)
            await server.tick()
        await drain(server)
        # a second deploy: `first` removed, `second` added
        (project / "agents" / "first.yaml").unlink()
        scheduled(project, "second", "* * * * *")
        with ControlPlane(locate(project)) as store:
            store.deactivate_agent("staging", "first")
        deploy(project, clock.moment)
        await server.refresh()
        for _ in range(3):
            clock.advance(seconds=20)
            await server.tick()
        await drain(server)
        await server.stop()
    asyncio.run(go())
    assert sorted(r.agent for r in runs(project)) == ["first", "second"]


def test_an_emitted_event_runs_exactly_the_matching_agents_once(project: Path) -> None:
    for name, extra in (("positions", "\n  filter:\n    fund_id: GLOBAL-EQ-1"),
                        ("other-fund", "\n  filter:\n    fund_id: OTHER"),
                        ("any-fund", "")):
        write_agent(project, name, PROBE, trigger="type: event\n  source: plexifact\n"
                    f"  event: fund.positions.updated{extra}")
    deploy(project)
    with ControlPlane(locate(project)) as store:
        store.record_event("staging", "fund.positions.updated", "plexifact",
                           {"fund_id": "GLOBAL-EQ-1"}, DEPLOYED_AT.isoformat(), "ops")
        store.record_event("staging", "feed.updated", "plexifact", {}, DEPLOYED_AT.isoformat(),
                           "ops")
    clock = SimulatedClock(DEPLOYED_AT)
    minutes(clock, service(project, clock), 1)
    minutes(clock, service(project, clock), 1)  # a restarted server does not take it again
    assert sorted((r.agent, r.trigger_type) for r in runs(project)) == [
        ("any-fund", "event"), ("positions", "event")]


def test_a_new_cron_deployed_while_serving_starts_afresh_without_a_catch_up(
        project: Path) -> None:
    scheduled(project, "hourly", "0 * * * *")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT.replace(minute=59, second=50))
    minutes(clock, service(project, clock), 1)  # 10:00 runs
    scheduled(project, "hourly", "30 * * * *")
    deploy(project, DEPLOYED_AT.replace(hour=10, minute=45))  # 10:30 passed before this deploy
    clock.moment = DEPLOYED_AT.replace(hour=10, minute=45, second=10)
    minutes(clock, service(project, clock), 1)
    [run] = runs(project)  # the 10:00 run only: 10:30 belongs to no deployed cron
    assert run.run_id == tick_run("hourly", DEPLOYED_AT.replace(hour=10, minute=0, second=0))


class FailingOnce(LocalQueue):
    """A queue whose first submit fails (a lost database)."""

    failed = False

    async def submit(self, job: Job) -> bool:
        if not self.failed:
            self.failed = True
            raise StateError("the control plane is unreachable")
        return await super().submit(job)


def test_a_tick_that_could_not_be_queued_is_queued_on_the_next_look(project: Path) -> None:
    scheduled(project, "daily", "0 10 * * *")
    deploy(project)
    clock = SimulatedClock(DEPLOYED_AT.replace(minute=59, second=50))
    server = service(project, clock, FailingOnce(1))

    async def go() -> None:
        await server.start(loops=False)
        clock.advance(seconds=20)
        with pytest.raises(StateError):
            await server.tick()
        clock.advance(seconds=1)
        await server.tick()
        await drain(server)
        await server.stop()
    asyncio.run(go())
    [run] = runs(project)
    assert run.run_id == tick_run("daily", DEPLOYED_AT.replace(hour=10, minute=0, second=0))


def test_across_the_spring_change_in_new_york_a_skipped_time_runs_once(project: Path) -> None:
    scheduled(project, "night-batch", "30 2 * * *", "\n  timezone: America/New_York")
    night = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST; 02:00 EST becomes 03:00 EDT
    deploy(project, night)
    clock = SimulatedClock(night)
    minutes(clock, service(project, clock), 4 * 60)
    [run] = runs(project)
    assert run.run_id == tick_run("night-batch",
                                  datetime(2026, 3, 8, 7, 0, tzinfo=UTC))  # 03:00 EDT


def test_a_webhook_job_delivered_again_after_its_run_was_recorded_is_not_run_twice(
        project: Path) -> None:
    write_agent(project, "hooked", PROBE, trigger="type: webhook")
    deploy(project)
    runner = Runner(ProjectPaths(project), str(locate(project)))
    job = Job("staging", "hooked", "webhook", new_run_id(), DEPLOYED_AT.isoformat())
    try:
        first = runner.run(job, lambda: DEPLOYED_AT)  # a first delivery: run, not looked up
        again = runner.run(job, lambda: DEPLOYED_AT, takeover=1)  # its server died after
    finally:
        runner.close()
    assert first.record is not None and first.record.status == "success"
    assert again.record is None and again.skipped == f"run {job.run_id} is recorded already"
    assert [run.run_id for run in runs(project)] == [job.run_id]
