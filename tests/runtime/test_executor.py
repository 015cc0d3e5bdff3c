"""The executor on the deployed version of agents: tasks, skills, retries, records, outbox."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from flexor_iac.controlplane.runs import RunQuery, RunRecord
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.runtime.executor import Executor, RunRequest
from tests.helpers.http_servers import serving
from tests.helpers.project import allow_loopback, set_vault, write_agent, write_skill
from tests.helpers.runtime import (
    CATALOG,
    SECRET_URL_PART,
    STAGING,
    Ticking,
    feeds,
    install,
    load_catalog,
    run,
)


def test_feed_monitor_with_a_fresh_feed_succeeds_and_sends_nothing(
        project: Path, hooks: HTTPServer) -> None:
    feeds(project, 5)
    record, store = run(project, "feed-monitor", {"SLACK_WEBHOOK_URL": hooks.url})  # type: ignore[attr-defined]
    assert record.status == "success" and record.attempts == 1
    assert record.tasks_executed == ["data-freshness-check", "core.audit.log"]
    assert [d["result"] for d in record.decisions] == [False]
    assert store.outbox() == [] and hooks.posts == []  # type: ignore[attr-defined]
    assert record.outputs["audit_log"][0]["event"] == "feed_freshness_check"


def test_feed_monitor_with_a_stale_feed_sends_one_message_naming_the_staleness(
        project: Path, hooks: HTTPServer) -> None:
    feeds(project, 47)
    allow_loopback(project)
    record, store = run(project, "feed-monitor", {"SLACK_WEBHOOK_URL": hooks.url})  # type: ignore[attr-defined]
    assert record.status == "success"
    posts = hooks.posts  # type: ignore[attr-defined]
    assert len(posts) == 1
    assert posts[0][1] == {"channel": "#data-ops", "text": "equity-prices is 47 min stale."}
    [message] = store.outbox()
    assert (message.channel, message.target, message.delivery) == (
        "slack", "env:SLACK_WEBHOOK_URL", "delivered")
    assert record.decisions[0]["values"]["result"] == {"is_fresh": False,
                                                       "staleness_minutes": 47}


def test_the_deployed_version_runs_not_the_working_tree(project: Path) -> None:
    feeds(project, 5)
    store = install(project, STAGING)
    skill = project / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("plexifact.catalog.get_feed_metadata",
                                               "core.no.such.action"))
    record = Executor(ProjectPaths(project), store, environ={}).run(
        RunRequest(STAGING, "feed-monitor"))
    assert record.status == "success"


def test_an_always_failing_skill_is_attempted_max_attempts_times_then_notifies_ops(
        project: Path, hooks: HTTPServer) -> None:
    feeds(project, 5)
    write_skill(project, "always-fails", "steps:\n  - action: plexifact.catalog.get_feed_metadata"
                "\n    args: {feed: no-such-feed}\n")
    write_agent(project, "doomed", "  - skill: always-fails\n",
                retry="retry:\n  max_attempts: 3\n  backoff_seconds: 0.1\n"
                      "  on_final_failure: notify_ops\n")
    allow_loopback(project)
    store = install(project, STAGING)
    waits: list[float] = []
    record = Executor(ProjectPaths(project), store,
                      environ={"SLACK_WEBHOOK_URL": hooks.url + "/ops"},  # type: ignore[attr-defined]
                      sleep=waits.append).run(RunRequest(STAGING, "doomed"))
    assert (record.status, record.attempts, waits) == ("failed", 3, [0.1, 0.1])
    assert [e.split(":")[0] for e in record.errors] == ["attempt 1", "attempt 2", "attempt 3"]
    assert "no feed named 'no-such-feed'" in record.errors[0]
    [ops] = store.outbox()
    assert (ops.channel, ops.delivery) == ("slack", "delivered")
    assert [path for path, _body in hooks.posts] == ["/ops"]  # type: ignore[attr-defined]
    assert "agent doomed 1.0 failed in staging after 3 attempt(s)" in ops.message["text"]
    failed = store.runs(RunQuery(environment="staging", agent="doomed", statuses=("failed",)))
    assert [r.run_id for r in failed] == [record.run_id]


def test_on_final_failure_pause_pauses_the_agent(project: Path) -> None:
    write_agent(project, "pauser", "  - skill: core.time.diff_minutes\n    args:\n"
                "      from: not-a-time\n      to: \"{{ now() }}\"\n",
                retry="retry:\n  on_final_failure: pause\n")
    record, store = run(project, "pauser")
    assert record.status == "failed" and "bad arguments: from" in record.errors[0]
    assert store.active_agent("staging", "pauser").paused  # type: ignore[union-attr]


def test_a_paused_agent_is_refused_unless_forced(project: Path) -> None:
    write_agent(project, "probe", "  - skill: core.audit.log\n    args:\n      event: probe\n")
    store = install(project, STAGING)
    store.set_paused("staging", "probe", True)
    executor = Executor(ProjectPaths(project), store, environ={})
    with pytest.raises(PolicyRefusal, match="probe is paused in staging"):
        executor.run(RunRequest(STAGING, "probe"))
    assert store.runs(RunQuery()) == []
    assert executor.run(RunRequest(STAGING, "probe", force=True)).status == "success"


def test_sandbox_refuses_non_manual_triggers_unless_its_stack_enables_them(
        project: Path) -> None:
    (project / "vaults" / "desk").mkdir()
    (project / "vaults" / "desk" / "vault.json").write_text(
        '{"name": "desk", "tier": "L4", "environment": "sandbox"}')
    (project / "agents" / "tick.yaml").write_text(
        'name: tick\nversion: "1.0"\ndescription: "d"\nowner: o\nvault: desk\n'
        'environment: sandbox\ntrigger:\n  type: schedule\n  cron: "*/5 * * * *"\n'
        "tasks:\n  - skill: core.audit.log\n    args:\n      event: tick\n")
    store = install(project, Environment.SANDBOX)
    executor = Executor(ProjectPaths(project), store, environ={})
    with pytest.raises(PolicyRefusal, match="sandbox does not fire schedule triggers"):
        executor.run(RunRequest(Environment.SANDBOX, "tick", trigger="schedule"))
    assert executor.run(RunRequest(Environment.SANDBOX, "tick")).status == "success"
    stack = project / "Pulumi.sandbox.yaml"
    stack.write_text(stack.read_text().replace("[manual]", "[manual, schedule]"))
    store = install(project, Environment.SANDBOX)
    record = Executor(ProjectPaths(project), store, environ={}).run(
        RunRequest(Environment.SANDBOX, "tick", trigger="schedule"))
    assert (record.status, record.trigger_type) == ("success", "schedule")


RECON_SKILLS = {
    "fetch-positions": """inputs:
  fund_id: {type: string, required: true}
outputs:
  internal: {type: array}
  custodian: {type: array}
steps:
  - parallel:
    - action: plexifact.positions.get_internal
      args: {fund_id: "{{ inputs.fund_id }}"}
      capture: internal
    - action: plexifact.positions.get_custodian
      args: {fund_id: "{{ inputs.fund_id }}"}
      capture: custodian
  - action: core.logic.set_output
    args: {internal: "{{ internal }}", custodian: "{{ custodian }}"}
""",
}
RECON_AGENT = """  - skill: fetch-positions
    args: {fund_id: "{{ event.fund_id }}"}
    capture: positions
  - skill: core.reconcile.compare_positions
    args:
      left: "{{ positions.internal }}"
      right: "{{ positions.custodian }}"
      threshold: 10
    capture: recon
  - condition: "{{ recon.count > 0 }}"
  - skill: core.audit.log
    args:
      event: position_exception
      result: "{{ recon.discrepancies }}"
      details: "{{ event.fund_id }}: {{ recon.count }} discrepancy(ies)"
  - end_condition
"""


def test_daily_position_recon_runs_with_inputs_standing_in_for_the_event(
        project: Path, hooks: HTTPServer) -> None:
    for name, text in RECON_SKILLS.items():
        write_skill(project, name, text)
    write_agent(project, "daily-position-recon", RECON_AGENT,
                trigger="type: event\n  source: plexifact\n  event: fund.positions.updated",
                retry="retry:\n  max_attempts: 3\n  backoff_seconds: 0.1\n"
                      "  on_final_failure: notify_ops\n")
    positions = [{"fund_id": "F1", "source": s, "instrument": i, "quantity": q}
                 for s, i, q in [("internal", "AAPL", 100), ("internal", "MSFT", 50),
                                 ("custodian", "AAPL", 100), ("custodian", "MSFT", 20)]]
    load_catalog(project, CATALOG, {"positions": positions})
    record, store = run(project, "daily-position-recon",
                        {"SLACK_WEBHOOK_URL": hooks.url},  # type: ignore[attr-defined]
                        inputs={"fund_id": "F1"}, trigger="event")
    assert (record.status, record.trigger_type) == ("success", "event")
    [exception] = record.outputs["audit_log"]
    assert exception["event"] == "position_exception"
    assert exception["details"] == "F1: 1 discrepancy(ies)"
    assert exception["result"] == [{"instrument": "MSFT", "left": 50.0, "right": 20.0,
                                    "difference": 30.0}]
    assert store.outbox() == []
    # No positions for another fund: nothing to reconcile, nothing recorded as an exception.
    other, _store = run(project, "daily-position-recon", inputs={"fund_id": "F2"})
    assert other.status == "success" and other.outputs["audit_log"] == []


def test_parallel_branches_really_run_at_the_same_time(project: Path) -> None:
    barrier = threading.Barrier(2, timeout=5)

    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                barrier.wait()  # both branches must be in flight at once
                self.send_response(200)
            except threading.BrokenBarrierError:
                self.send_response(504)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        url = f"http://127.0.0.1:{server.server_port}"
        write_skill(project, "fan-out", f"steps:\n  - parallel:\n"
                    f"    - action: core.notify.webhook\n      args: {{url: '{url}/a'}}\n"
                    f"    - action: core.notify.webhook\n      args: {{url: '{url}/b'}}\n")
        write_agent(project, "fanner", "  - skill: fan-out\n")
        allow_loopback(project)
        record, store = run(project, "fanner")
    assert record.status == "success", record.errors
    assert [m.delivery for m in store.outbox()] == ["delivered", "delivered"]


ON_ERROR_SKILL = """outputs:
  price: {type: object}
steps:
  - action: plexifact.catalog.get_feed_metadata
    args: {feed: missing-feed}
    capture: price
    on_error:
      strategy: fallback
      fallback_value: {price: null, source: unavailable}
  - action: plexifact.catalog.get_feed_metadata
    args: {feed: missing-feed}
    capture: skipped
    on_error: {strategy: skip}
  - action: plexifact.catalog.get_feed_metadata
    args: {feed: missing-feed}
    optional: true
  - action: core.logic.set_output
    args:
      price: "{{ price }}"
"""


def test_on_error_fallback_skip_and_optional_make_the_run_partial(project: Path) -> None:
    load_catalog(project, CATALOG, {})
    write_skill(project, "tolerant", ON_ERROR_SKILL)
    write_agent(project, "tolerant-agent", "  - skill: tolerant\n    capture: out\n"
                "  - skill: core.audit.log\n    args:\n      event: done\n"
                "      result: \"{{ out.price.source }} {{ skipped is defined }}\"\n")
    record, _store = run(project, "tolerant-agent")
    assert record.status == "partial"
    assert record.outputs["audit_log"][0]["result"] == "unavailable False"
    assert [e.rsplit("(", 1)[1] for e in record.errors] == [
        "fallback value used)", "skipped)", "skipped)"]
    assert "task 1 (tolerant) > step 1 (plexifact.catalog.get_feed_metadata): no feed named " \
           "'missing-feed'" in record.errors[0]


def test_on_error_retry_tries_again_then_fails(project: Path, hooks: HTTPServer) -> None:
    hooks.status = 503  # type: ignore[attr-defined]
    allow_loopback(project)
    write_skill(project, "flaky", "steps:\n  - action: core.notify.webhook\n"
                f"    args: {{url: '{hooks.url}'}}\n"  # type: ignore[attr-defined]
                "    on_error: {strategy: retry, max_retries: 2}\n")
    write_agent(project, "flaky-agent", "  - skill: flaky\n")
    record, _store = run(project, "flaky-agent")
    assert record.status == "failed"
    assert len(hooks.posts) == 3  # type: ignore[attr-defined]


def test_template_errors_are_run_errors_naming_the_task_and_step(project: Path) -> None:
    write_skill(project, "broken", "steps:\n  - action: core.audit.log\n"
                "    args:\n      event: \"{{ nothing.here }}\"\n")
    write_agent(project, "broken-agent", "  - skill: broken\n")
    record, _store = run(project, "broken-agent")
    assert record.status == "failed"
    assert record.errors == ["attempt 1: task 1 (broken) > step 1 (core.audit.log): template "
                             "{{ nothing.here }}: 'nothing' is undefined"]


def test_skill_inputs_are_typed_with_defaults(project: Path) -> None:
    write_skill(project, "typed", "inputs:\n  n: {type: integer, required: true}\n"
                "  label: {type: string, default: plain}\n"
                "outputs:\n  doubled: {type: integer}\n  label: {type: string}\n"
                "steps:\n  - action: core.logic.set_output\n"
                "    args: {doubled: \"{{ inputs.n * 2 }}\", label: \"{{ inputs.label }}\"}\n")
    write_agent(project, "typed-agent", "  - skill: typed\n    args: {n: \"{{ event.n }}\"}\n"
                "    capture: out\n  - skill: core.audit.log\n"
                "    args: {event: done, result: \"{{ out }}\"}\n")
    record, _store = run(project, "typed-agent", inputs={"n": "21"})
    assert record.outputs["audit_log"][0]["result"] == {"doubled": 42, "label": "plain"}
    wrong, _store = run(project, "typed-agent", inputs={"n": "many"})
    assert wrong.errors == ["attempt 1: task 1 (typed): input n of skill typed must be "
                            "integer, got str 'many'"]


def test_max_rows_per_query_fails_the_step(project: Path) -> None:
    set_vault(project, data__max_rows_per_query=2)
    load_catalog(project, CATALOG, {"positions": [
        {"fund_id": "F1", "source": "internal", "instrument": f"I{n}", "quantity": n}
        for n in range(3)]})
    write_agent(project, "big", "  - skill: plexifact.positions.get_internal\n"
                "    args: {fund_id: F1}\n")
    record, _store = run(project, "big")
    assert record.status == "failed"
    assert "returned more than 2 rows (max_rows_per_query)" in record.errors[0]


@pytest.mark.embedded  # it locks the embedded catalog's file
def test_the_connection_timeout_is_enforced(project: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from flexor_iac.runtime.plexifact import catalog_path

    set_vault(project, data__default_connection_timeout_ms=200)
    feeds(project, 1)
    catalog = catalog_path(ProjectPaths(project).state_dir, CATALOG)
    locker = sqlite3.connect(catalog, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    waits: list[float] = []  # how long each catalog connection waits for the lock
    connect = sqlite3.connect

    def recording(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(database).startswith(catalog.as_uri()):
            waits.append(kwargs["timeout"])
        return connect(database, *args, **kwargs)
    monkeypatch.setattr(sqlite3, "connect", recording)
    try:
        record, _store = run(project, "feed-monitor")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert record.status == "failed"
    assert "no answer within 200 ms" in record.errors[0]
    assert waits == [0.2, 0.2]  # one wait per attempt, of 0.2 s: not the default 5 s


def test_secrets_never_reach_the_database_logs_audit_or_outbox(
        project: Path, hooks: HTTPServer) -> None:
    secret_url = f"{hooks.url}/{SECRET_URL_PART}"  # type: ignore[attr-defined]
    hooks.status = 500  # type: ignore[attr-defined] # the failure path too
    feeds(project, 90)
    set_vault(project, audit__include_outputs=True, audit__include_inputs=True)
    allow_loopback(project)
    write_agent(project, "leaky", "  - skill: core.audit.log\n"
                "    args: {event: x, result: \"{{ vault.notifications.slack_webhook }}\"}\n"
                "  - skill: core.notify.slack\n    args: {message: \"hello\"}\n",
                retry="retry:\n  max_attempts: 2\n  on_final_failure: notify_ops\n")
    record, store = run(project, "leaky", {"SLACK_WEBHOOK_URL": secret_url},
                        inputs={"note": "plain"})
    assert record.status == "failed"
    assert hooks.posts  # type: ignore[attr-defined] # the secret URL was really used
    recorded = json.dumps([record.audit_entry(), [vars(m) for m in store.outbox()],
                           [vars(line) for line in store.run_log(record.run_id)]], default=str)
    assert "HTTP 500" in recorded and "env:SLACK_WEBHOOK_URL" in recorded
    assert "xoxsecret42" not in recorded
    store.close()
    for path in (project / ".flexor").glob("control-plane.db*"):
        assert b"xoxsecret42" not in path.read_bytes(), path


def test_pii_patterns_redact_recorded_text(project: Path) -> None:
    set_vault(project, audit__pii_redaction=True, audit__pii_patterns=[r"\d{3}-\d{2}-\d{4}"],
              audit__include_outputs=True)
    write_agent(project, "pii", "  - skill: core.audit.log\n"
                "    args: {event: \"ssn {{ event.ssn }}\"}\n    capture: logged\n")
    record, store = run(project, "pii", inputs={"ssn": "123-45-6789"})
    assert "123-45-6789" not in json.dumps(record.audit_entry())
    assert record.outputs["captures"]["logged"]["event"] == "ssn [REDACTED]"
    assert all("123-45-6789" not in line.message for line in store.run_log(record.run_id))


def test_outputs_and_inputs_are_left_out_unless_the_vault_includes_them(project: Path) -> None:
    feeds(project, 5)
    record, _store = run(project, "feed-monitor", inputs={"fund": "x"})
    assert record.outputs["captures"] == "[REDACTED]" and record.inputs is None


def test_runs_older_than_retention_days_are_purged(project: Path) -> None:
    feeds(project, 5)
    store = install(project, STAGING)
    old = RunRecord("old-run", "staging", "feed-monitor", "1.0", "company", "manual",
                    datetime.now(UTC) - timedelta(days=91), "success", 1, 5, True)
    store.record_run(old, [])
    new = Executor(ProjectPaths(project), store, environ={}).run(
        RunRequest(STAGING, "feed-monitor"))
    assert [r.run_id for r in store.runs(RunQuery())] != [] and all(
        r.run_id != "old-run" for r in store.runs(RunQuery()))
    assert [r.run_id for r in store.runs(RunQuery())] == [new.run_id]
    assert store.run_log("old-run") == [] and store.run_log(new.run_id) != []


def test_a_channel_with_nothing_configured_records_the_message_in_the_outbox_only(
        project: Path) -> None:
    path = project / "vaults" / "company" / "vault.json"
    config = json.loads(path.read_text())
    del config["notifications"]["slack_webhook"]
    path.write_text(json.dumps(config))
    write_agent(project, "quiet", "  - skill: core.notify.slack\n    args: {message: hi}\n"
                "  - skill: core.notify.email\n"
                "    args: {to: ops@fund.com, subject: s, message: hello}\n")
    record, store = run(project, "quiet")
    assert record.status == "success"
    assert [(m.channel, m.target, m.delivery) for m in store.outbox()] == [
        ("slack", "(none)", "outbox only (no notifications.slack_webhook configured)"),
        ("email", "ops@fund.com", "outbox only (no mail transport in the embedded runtime)")]


def test_templates_read_only_the_environment_variables_the_vault_allows(project: Path) -> None:
    set_vault(project, env_allowlist=["DESK"])
    write_agent(project, "envy", "  - skill: core.audit.log\n"
                "    args: {event: \"{{ env.DESK }}/{{ env.HOME_SECRET }}\"}\n")
    record, _store = run(project, "envy", {"DESK": "rates", "HOME_SECRET": "s3cr3t"})
    assert record.outputs["audit_log"][0]["event"] == "rates/"


def test_skills_call_skills_and_conditions_guard_steps(project: Path) -> None:
    write_skill(project, "double", "inputs:\n  n: {type: number, required: true}\n"
                "outputs:\n  value: {type: number}\n"
                "steps:\n  - action: core.logic.set_output\n"
                "    args: {value: \"{{ inputs.n * 2 }}\"}\n")
    write_skill(project, "double-if-small", "inputs:\n  n: {type: number, required: true}\n"
                "outputs:\n  value: {type: number}\n"
                "steps:\n  - action: core.logic.set_output\n    args: {value: \"{{ inputs.n }}\"}\n"
                "  - condition: \"{{ inputs.n < 10 }}\"\n"
                "  - call: double\n    args: {n: \"{{ inputs.n }}\"}\n    capture: doubled\n"
                "  - action: core.logic.set_output\n    args: {value: \"{{ doubled.value }}\"}\n"
                "  - end_condition\n")
    write_agent(project, "doubler", "  - skill: double-if-small\n    args: {n: 4}\n"
                "    capture: small\n  - skill: double-if-small\n    args: {n: 40}\n"
                "    capture: big\n  - skill: core.audit.log\n"
                "    args: {event: done, result: [\"{{ small.value }}\", \"{{ big.value }}\"]}\n")
    record, _store = run(project, "doubler")
    assert record.status == "success", record.errors
    assert record.outputs["audit_log"][0]["result"] == [8, 40]
    assert [d["result"] for d in record.decisions] == [True, False]
    assert record.tasks_executed == ["double-if-small", "double-if-small", "core.audit.log"]


# --- limits: a run that breaks one is a failed run, recorded, with its retry policy ------------

def test_a_template_over_a_limit_fails_the_run_and_the_retry_policy_applies(
        project: Path) -> None:
    write_agent(project, "bloater", "  - skill: core.audit.log\n"
                "    args: {event: \"{{ 'x' * 10**7 }}\"}\n",
                retry="retry:\n  max_attempts: 2\n  on_final_failure: pause\n")
    record, store = run(project, "bloater")
    assert (record.status, record.attempts) == ("failed", 2)
    assert "over 1 MiB" in record.errors[0] and record.outputs["audit_log"] == []
    assert [r.run_id for r in store.runs(RunQuery(agent="bloater"))] == [record.run_id]
    assert store.active_agent("staging", "bloater").paused  # type: ignore[union-attr]


def test_a_recursive_macro_fails_the_run_instead_of_the_cli(project: Path) -> None:
    write_agent(project, "looper", "  - skill: core.audit.log\n    args:\n      event: "
                "\"{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}\"\n")
    record, store = run(project, "looper")
    assert record.status == "failed" and "recursion" in record.errors[0]
    assert store.runs(RunQuery(agent="looper")) != []


def test_an_attempt_stops_at_timeout_seconds_and_is_retried(project: Path) -> None:
    write_agent(project, "slow", "  - skill: core.audit.log\n    args: {event: one}\n"
                "  - skill: core.audit.log\n    args: {event: two}\n    optional: true\n"
                "  - skill: core.audit.log\n    args: {event: three}\n",
                retry="retry:\n  max_attempts: 2\n  on_final_failure: pause\n"
                      "timeout_seconds: 15\n")
    store = install(project, STAGING)
    record = Executor(ProjectPaths(project), store, environ={}, sleep=lambda _s: None,
                      monotonic=Ticking(10)).run(RunRequest(STAGING, "slow"))
    assert (record.status, record.attempts) == ("failed", 2)
    assert all("timed out: the attempt ran past its timeout_seconds (15 s)" in error
               for error in record.errors), record.errors
    assert store.active_agent("staging", "slow").paused  # type: ignore[union-attr]


def test_a_timeout_inside_a_skill_is_not_tolerated(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from flexor_iac.runtime import actions

    clock = Ticking(0)
    monkeypatch.setitem(actions.LIBRARY, "test.wait", actions.Action(
        actions.SetOutput, lambda _ctx, _args: clock.advance(60)))
    write_skill(project, "waits", "steps:\n  - action: test.wait\n"
                "  - action: core.audit.log\n    args: {event: never}\n")
    write_agent(project, "patient", "  - skill: waits\n    optional: true\n"
                "  - skill: core.audit.log\n    args: {event: after}\n",
                retry="timeout_seconds: 30\n")
    store = install(project, STAGING)
    record = Executor(ProjectPaths(project), store, environ={},
                      monotonic=clock).run(RunRequest(STAGING, "patient"))
    assert (record.status, record.outputs["audit_log"]) == ("failed", [])
    assert record.errors == ["attempt 1: task 1 (waits) > step 2: timed out: the attempt ran "
                             "past its timeout_seconds (30 s)"]


def test_an_agent_without_timeout_seconds_gets_the_default(project: Path) -> None:
    from flexor_iac.runtime.limits import DEFAULT_TIMEOUT_SECONDS

    write_agent(project, "plain", "  - skill: core.audit.log\n    args: {event: one}\n"
                "  - skill: core.audit.log\n    args: {event: two}\n")
    store = install(project, STAGING)
    record = Executor(ProjectPaths(project), store, environ={},
                      monotonic=Ticking(DEFAULT_TIMEOUT_SECONDS / 2 + 1)).run(
        RunRequest(STAGING, "plain"))
    assert record.status == "failed"
    assert f"timeout_seconds ({DEFAULT_TIMEOUT_SECONDS:g} s)" in record.errors[0]


def test_an_http_call_waits_no_longer_than_the_time_left(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from flexor_iac.runtime import notify

    release = threading.Event()
    timeouts: list[float] = []  # each HTTP client's timeout
    guarded_client = notify.guarded_client

    def recording(allowed: Any, timeout: float, *args: Any) -> Any:
        timeouts.append(timeout)
        return guarded_client(allowed, timeout, *args)
    monkeypatch.setattr(notify, "guarded_client", recording)

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Slow)) as server:
        try:
            write_agent(project, "waiter", "  - skill: core.notify.webhook\n"
                        f"    args: {{url: 'http://127.0.0.1:{server.server_port}/'}}\n",
                        retry="timeout_seconds: 0.3\n")
            allow_loopback(project)
            record, store = run(project, "waiter")
        finally:
            release.set()  # before the server closes: closing waits for its handlers
    assert record.status == "failed" and "not delivered" in record.errors[0]
    assert [m.delivery for m in store.outbox()] == ["failed: ReadTimeout"]
    assert len(timeouts) == 1 and 0 < timeouts[0] <= 0.3  # what was left, not the 10 s default


def test_what_a_run_records_is_capped(project: Path) -> None:
    from flexor_iac.runtime.limits import MAX_LOG_LINES, MAX_RECORDED, MAX_RECORDED_LINE

    set_vault(project, audit__include_outputs=True)
    body = "".join(f"  - skill: core.audit.log\n    args: {{event: \"{{{{ 'x' * 600000 }}}}\"}}\n"
                   f"    capture: big{n}\n" for n in range(4))
    write_agent(project, "chatty", body + "  - skill: core.audit.log\n"
                "    args: {event: \"{{ nothing.here }}" + "z" * 10000 + "\"}\n"
                "    on_error: {strategy: retry, max_retries: 1500}\n",
                retry="retry:\n  max_attempts: 2\n")
    record, store = run(project, "chatty")
    assert record.status == "failed"
    [stored] = store.runs(RunQuery(agent="chatty"))
    entry = json.dumps(stored.audit_entry())
    assert len(entry) < MAX_RECORDED + 20_000 and "not recorded" in entry
    assert all(len(error) < MAX_RECORDED_LINE + 100 for error in stored.errors)
    lines = store.run_log(record.run_id)
    assert len(lines) == MAX_LOG_LINES
    assert max(len(line.message) for line in lines) < MAX_RECORDED_LINE + 100
    assert any("log lines not recorded" in line.message for line in lines)
    assert lines[-1].message.endswith("failed after 2 attempt(s)")


def test_the_outbox_keeps_at_most_64_kib_of_a_message(project: Path) -> None:
    write_agent(project, "shouty", "  - skill: core.notify.email\n    args: {to: ops@fund.com, "
                "subject: hi, message: \"{{ 'x' * 200000 }}\"}\n")
    record, store = run(project, "shouty")
    [message] = store.outbox()
    assert record.status == "success" and message.message["subject"] == "hi"
    assert message.message["text"] == "[not recorded: over the 64 KiB recorded]"


def test_the_wait_between_attempts_goes_through_the_countdown_with_the_reason_redacted(
        project: Path) -> None:
    feeds(project, 5)
    write_agent(project, "seeker", "  - skill: plexifact.catalog.get_feed_metadata\n"
                "    args: {feed: \"{{ event.feed }}\"}\n",
                retry="retry:\n  max_attempts: 3\n  backoff_seconds: 7.5\n")
    store = install(project, STAGING)
    waits: list[float] = []
    shown: list[tuple[str, float]] = []

    def countdown(text: Any, seconds: float, sleep: Any) -> None:
        shown.append((text(8), seconds))
        sleep(seconds)

    record = Executor(ProjectPaths(project), store, environ={}, sleep=waits.append,
                      countdown=countdown).run(RunRequest(STAGING, "seeker",
                                                          inputs={"feed": "fund-x-holdings"}))
    assert (record.status, waits) == ("failed", [7.5, 7.5])  # the executor's sleep did the waits
    assert [seconds for _text, seconds in shown] == [7.5, 7.5]
    reason = ("task 1 (plexifact.catalog.get_feed_metadata): no feed named '[INPUT]' in "
              "plexifact://staging/catalog")  # the input's value withheld, as in the log
    assert [text for text, _seconds in shown] == [
        f"attempt 1 of 3 failed: {reason}; retrying in 8 s …",
        f"attempt 2 of 3 failed: {reason}; retrying in 8 s …"]


def test_no_wait_no_countdown(project: Path) -> None:
    write_agent(project, "hasty", "  - skill: plexifact.catalog.get_feed_metadata\n"
                "    args: {feed: fx}\n", retry="retry:\n  max_attempts: 2\n")
    store = install(project, STAGING)
    waits: list[float] = []
    record = Executor(ProjectPaths(project), store, environ={}, sleep=waits.append,
                      countdown=lambda *_args: pytest.fail("no wait to show")
                      ).run(RunRequest(STAGING, "hasty"))
    assert (record.status, record.attempts, waits) == ("failed", 2, [0])
