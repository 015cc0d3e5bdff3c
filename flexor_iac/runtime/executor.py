"""Run the deployed version of an agent: retry policy, final-failure action, the run record.

Everything comes from the control plane (the agent's deployed spec and resolved skills, the
bound vault's settings, the environment's registration), never from the working tree. Each
attempt has a deadline (`timeout_seconds`); what a run records is capped (runtime/limits.py).
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from flexor_iac.controlplane.agents import ActiveAgent
from flexor_iac.controlplane.runs import LogLine, RunRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, Tier
from flexor_iac.core.errors import FlexorError, PolicyRefusal, UsageError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.language.render_pool import needs_worker, warm
from flexor_iac.project.models import AgentSpec, SkillSpec, VaultConfig
from flexor_iac.runtime.actions import ActionFailed
from flexor_iac.runtime.limits import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_LOG_LINES,
    Deadline,
    RecordBudget,
    StepFailed,
    clip,
)
from flexor_iac.runtime.notify import DeliveryFailed, Notifier, Sender
from flexor_iac.runtime.plexifact import Connector, Limits, open_catalog
from flexor_iac.runtime.redaction import Redactor
from flexor_iac.runtime.secrets import Secrets
from flexor_iac.runtime.steps import Attempt, Interpreter, Services

Clock = Callable[[], datetime]
# Waits `seconds` through a sleep function, saying why: text(whole seconds left) (Console.countdown)
Countdown = Callable[[Callable[[int], str], float, Callable[[float], None]], None]
_TAIL = 20  # log lines kept from the end of a run that logged more than MAX_LOG_LINES


@dataclass(frozen=True)
class RunRequest:
    """One run: which agent where, with what inputs (standing in for the event), how fired."""

    environment: Environment
    agent: str
    inputs: dict[str, Any] = field(default_factory=dict)
    trigger: str = "manual"
    force: bool = False
    run_id: str | None = None  # given by `flexor serve` (known before the run starts)
    notes: tuple[str, ...] = ()  # said first in the run's log (a catch-up, a takeover)


@dataclass
class _Log:
    """The run's log lines, also shown live through `echo` (each cut at MAX_RECORDED_LINE)."""

    clock: Clock
    redactor: Redactor | None = None
    echo: Callable[[str], None] | None = None
    lines: list[LogLine] = field(default_factory=list)
    tail: deque[LogLine] = field(default_factory=lambda: deque(maxlen=_TAIL))
    skipped: int = 0

    def shown(self, message: str) -> str:
        """`message` as the run may show or record it: redacted and clipped."""
        return clip(self.redactor.text(message) if self.redactor else message)

    def __call__(self, level: str, message: str) -> None:
        text = self.shown(message)
        line = LogLine(self.clock(), level, text)
        if len(self.lines) < MAX_LOG_LINES - _TAIL - 1:
            self.lines.append(line)
        else:
            self.skipped += len(self.tail) == _TAIL
            self.tail.append(line)
        if self.echo:
            self.echo(f"{level}: {text}" if level != "info" else text)

    def recorded(self) -> list[LogLine]:
        """What the run keeps: the first lines, how many were left out, the last lines."""
        if not self.skipped:
            return [*self.lines, *self.tail]
        note = LogLine(self.tail[0].at, "warning", f"… {self.skipped} log lines not recorded "
                                                   f"(a run records at most {MAX_LOG_LINES})")
        return [*self.lines, note, *self.tail]


def _capped(record: RunRecord) -> RunRecord:
    """The record within MAX_RECORDED: errors first, then decisions, outputs and inputs."""
    budget = RecordBudget()
    errors = budget.each([clip(error) for error in record.errors])
    tasks = budget.each(record.tasks_executed)
    decisions = budget.each(record.decisions)
    outputs = ({key: budget.each(value) if isinstance(value, list) else budget.each_value(value)
                for key, value in record.outputs.items()}
               if isinstance(record.outputs, dict) else budget.keep(record.outputs))
    inputs = None if record.inputs is None else budget.each_value(record.inputs)
    return replace(record, errors=errors, tasks_executed=tasks, decisions=decisions,
                   outputs=outputs, inputs=inputs)


def _reason(failure: BaseException) -> str:
    if isinstance(failure, RecursionError):
        return "recursion too deep"
    return "out of memory" if isinstance(failure, MemoryError) else str(failure)


def deployed_agent(store: ControlPlane, request: RunRequest,
                   registered: dict[str, Any] | None = None) -> ActiveAgent:
    """The deployed agent, after the policy checks: deployed, not paused, trigger enabled
    (`registered`: the environment's registration, when read already)."""
    env = request.environment.value
    agent = store.active_agent(env, request.agent)
    if agent is None:
        raise FlexorError(f"agent {request.agent} is not deployed to {env} "
                          f"(see `flexor agents list --env {env}`)")
    own = agent.spec["spec"]["trigger"]["type"]
    if request.trigger not in ("manual", own):
        raise UsageError(f"agent {request.agent} has a {own} trigger, not {request.trigger}")
    enabled = ((store.environment(env) if registered is None else registered) or {}).get(
        "triggers") or []
    if request.trigger not in enabled:
        raise PolicyRefusal(f"{env} does not fire {request.trigger} triggers "
                            f"(enable them with flexor:triggers in Pulumi.{env}.yaml)")
    if agent.paused and not request.force:
        raise PolicyRefusal(f"agent {request.agent} is paused in {env}: "
                            f"`flexor resume --agent {request.agent} --env {env}`, or --force")
    return agent


class Executor:
    """Runs agents of one project; the clock, sleep and environment variables are injectable.

    `countdown`, when given, does the waits between attempts (with the executor's sleep) and
    shows them; without it the executor sleeps silently.
    """

    def __init__(self, paths: ProjectPaths, store: ControlPlane, clock: Clock = clock.now,
                 sleep: Callable[[float], None] = time.sleep,
                 environ: Mapping[str, str] | None = None,
                 echo: Callable[[str], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 countdown: Countdown | None = None) -> None:
        self.paths = paths
        self.monotonic = monotonic  # the clock of attempt deadlines
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.environ = os.environ if environ is None else environ
        self.echo = echo
        self.countdown = countdown

    def run(self, request: RunRequest) -> RunRecord:
        """Run the agent per its retry policy and record the run (its audit entry)."""
        registered = self.store.environment(request.environment.value) or {}
        agent = deployed_agent(self.store, request, registered)
        if needs_worker(agent.spec):
            warm()  # the render workers start while the run gets ready
        spec = AgentSpec.model_validate(agent.spec["spec"])
        vault = self._vault(request.environment, agent.spec.get("vault"))
        run_id = request.run_id or uuid.uuid4().hex
        secrets = Secrets(self.environ)
        env = {k: v for k in vault.env_allowlist if (v := self.environ.get(k))}
        redactor = Redactor(vault.audit, secrets, env, request.inputs)
        log = _Log(self.clock, redactor, self.echo)
        deadline = Deadline(self.monotonic)
        services = Services(
            skills={name: SkillSpec.model_validate(entry["content"])
                    for name, entry in agent.spec["skills"].items()},
            notifier=Notifier(self.store, vault.notifications, secrets,
                              Sender(request.environment.value, spec.name, run_id), self.clock,
                              redactor.message, deadline.bound),
            connector=self._connector_factory(request.environment, vault,
                                              registered.get("catalog")),
            log=log, now=self.clock, event=dict(request.inputs),
            env=env,
            vault=vault.model_dump(mode="json", exclude_none=True), deadline=deadline)
        started, tick = self.clock(), time.monotonic()
        log("info", f"run {run_id}: {spec.name} {spec.version} in {request.environment} "
                    f"({request.trigger} trigger)")
        for note in request.notes:
            log("info", note)
        attempt, errors, attempts = self._attempts(spec, services, request.inputs, log)
        status = "failed" if len(errors) == attempts else (
            "partial" if attempt.tolerated else "success")
        if status == "failed":
            self._final_failure(spec, request.environment, services.notifier, errors, log)
        log("info", f"run {run_id}: {status} after {attempts} attempt(s)")
        record = redactor.run(RunRecord(
            run_id, request.environment.value, spec.name, spec.version, agent.spec.get("vault"),
            request.trigger, started, status, attempts, int((time.monotonic() - tick) * 1000),
            vault.audit.enabled, list(attempt.tasks_executed),
            {"captures": attempt.captures, "audit_log": attempt.events}, attempt.decisions,
            [*errors, *attempt.tolerated], dict(request.inputs)))
        record = _capped(record)
        self.store.record_run(record, log.recorded(),  # with the agent's runs past retention
                              started - timedelta(days=vault.audit.retention_days))
        return record

    def _attempts(self, spec: AgentSpec, services: Services, inputs: dict[str, Any],
                  log: _Log) -> tuple[Attempt, list[str], int]:
        """Run up to max_attempts times, waiting backoff_seconds between attempts."""
        retry, errors = spec.retry, list[str]()
        attempt = Attempt()
        for number in range(1, retry.max_attempts + 1):
            log("info", f"attempt {number}/{retry.max_attempts}")
            interpreter = Interpreter(services)
            services.deadline.start(spec.timeout_seconds or DEFAULT_TIMEOUT_SECONDS)
            try:
                attempt = interpreter.run_tasks(spec.tasks, dict(inputs))
                return attempt, errors, number
            except (StepFailed, RecursionError, MemoryError) as failure:
                attempt = interpreter.attempt
                failed = _reason(failure)
                errors.append(f"attempt {number}: {failed}")
                log("error", f"attempt {number} failed: {failed}")
            finally:
                services.deadline.clear()
            if number < retry.max_attempts:
                log("info", f"retrying in {retry.backoff_seconds:g} s")
                self._back_off(f"attempt {number} of {retry.max_attempts} failed: "
                               f"{log.shown(failed)}", retry.backoff_seconds)
        return attempt, errors, retry.max_attempts

    def _back_off(self, failure: str, seconds: float) -> None:
        """The wait before the next attempt: shown through `countdown` when there is one."""
        if self.countdown is None or seconds <= 0:
            self.sleep(seconds)
        else:
            self.countdown(lambda left: f"{failure}; retrying in {left} s …", seconds, self.sleep)

    def _final_failure(self, spec: AgentSpec, env: Environment, notifier: Notifier,
                       errors: list[str], log: _Log) -> None:
        """The retry policy's on_final_failure: notify_ops, pause, or none."""
        action = spec.retry.on_final_failure
        if action == "notify_ops":
            text = (f"Flexor: agent {spec.name} {spec.version} failed in {env} after "
                    f"{len(errors)} attempt(s): {errors[-1]}")
            try:
                log("info", f"notify_ops: {notifier.default_channel(text)}")
            except DeliveryFailed as error:
                errors.append(f"notify_ops: {error}")
                log("error", f"notify_ops: {error}")
        elif action == "pause":
            self.store.set_paused(env.value, spec.name, True)
            log("warning", f"agent {spec.name} paused in {env} (on_final_failure: pause)")

    def _vault(self, env: Environment, name: str | None) -> VaultConfig:
        bound = self.store.binding_spec(env.value, name) if name else None
        if bound is None:
            return VaultConfig(name=name or "none", tier=Tier.L4, environment=env)
        return VaultConfig.model_validate(bound["config"])

    def _connector_factory(self, env: Environment, vault: VaultConfig, uri: str | None
                           ) -> Callable[[], Connector]:
        """The environment's own catalog (its stack's `flexor:catalog`, as deployed).

        Never the vault's `data.catalog`: one vault serves several environments, and staging
        must not read production's data (docs/decisions/009-catalog-per-environment.md).
        """
        made: list[Connector] = []

        def connector() -> Connector:
            if uri is None:
                raise ActionFailed(f"no PlexiFact catalog is configured for {env} "
                                   f"(flexor:catalog in Pulumi.{env}.yaml)")
            if not made:
                made.append(open_catalog(self.paths.state_dir, uri, Limits(
                    vault.data.default_connection_timeout_ms, vault.data.max_rows_per_query),
                    self.store))
            return made[0]
        return connector
