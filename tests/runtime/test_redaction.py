"""What a run records passes one redaction path: `env` values never, inputs per include_inputs.

The run record in the database, its log lines and its outbox messages, and what `run --json`,
`audit` (JSON and CSV) and `logs --json` print from them, all hold the redacted values only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flexor_iac.controlplane.runs import RunQuery, RunRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.project import set_vault, write_agent
from tests.helpers.runtime import STAGING, feeds, install, run

ENV_VALUE = "https://hooks.example.test/T0ENVSECRET/x9"
PASSWORD = "INPUTSECRET-hunter2"
ACCOUNT = "ACCT-123456"
INPUTS = {"api_password": PASSWORD, "account": ACCOUNT}

# A condition reading env, inputs and event; steps whose errors and message quote the values.
CHECKER = """\
  - condition: "{{ env.API_TOKEN && inputs.api_password && event.account }}"
  - skill: core.audit.log
    args: {event: checked}
  - end_condition
  - skill: plexifact.catalog.get_feed_metadata
    args: {feed: "{{ env.API_TOKEN }}"}
    optional: true
  - skill: plexifact.catalog.get_feed_metadata
    args: {feed: "{{ inputs.api_password }}"}
    optional: true
  - skill: core.notify.email
    args:
      to: ops@fund.com
      message: "{{ env.API_TOKEN }} {{ inputs.api_password }} {{ event.account }}"
"""


@pytest.fixture
def checker(project: Path) -> Path:
    """The project with the `checker` agent, API_TOKEN allowed to templates, a catalog loaded."""
    feeds(project, 5)
    set_vault(project, env_allowlist=["API_TOKEN"])
    write_agent(project, "checker", CHECKER)
    return project


def _everything(record: RunRecord, store: ControlPlane) -> str:
    """All the run left in the control plane, read back through the store."""
    [stored] = [r for r in store.runs(RunQuery()) if r.run_id == record.run_id]
    return json.dumps([record.audit_entry(), stored.audit_entry(),
                       [vars(m) for m in store.outbox()],
                       [vars(line) for line in store.run_log(record.run_id)]], default=str)


def _database_bytes(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in (root / ".flexor").glob("control-plane.db*"))


def _run_checker(root: Path) -> tuple[RunRecord, ControlPlane]:
    record, store = run(root, "checker", {"API_TOKEN": ENV_VALUE}, inputs=dict(INPUTS))
    assert record.status == "partial", record.errors
    assert record.decisions[0]["result"] is True
    return record, store


def test_env_and_input_values_are_not_recorded_without_include_inputs(checker: Path) -> None:
    record, store = _run_checker(checker)
    recorded = _everything(record, store)
    for value in (ENV_VALUE, "T0ENVSECRET", PASSWORD, ACCOUNT):
        assert value not in recorded, value
    # The names stay, so a reader knows what the condition consulted.
    assert record.decisions[0]["values"] == {
        "env": {"API_TOKEN": "[ENV]"},
        "inputs": {"api_password": "[INPUT]", "account": "[INPUT]"},
        "event": {"api_password": "[INPUT]", "account": "[INPUT]"}}
    assert "no feed named '[ENV]'" in record.errors[0]
    assert "no feed named '[INPUT]'" in record.errors[1]
    assert store.outbox()[0].message["text"] == "[ENV] [INPUT] [INPUT]"
    assert record.inputs is None
    store.close()
    raw = _database_bytes(checker)
    for value in (ENV_VALUE, PASSWORD, ACCOUNT):
        assert value.encode() not in raw, value


def test_with_include_inputs_the_inputs_are_kept_and_env_values_still_are_not(
        checker: Path) -> None:
    set_vault(checker, audit__include_inputs=True)
    record, store = _run_checker(checker)
    recorded = _everything(record, store)
    assert ENV_VALUE not in recorded and "T0ENVSECRET" not in recorded
    assert record.decisions[0]["values"]["env"] == {"API_TOKEN": "[ENV]"}
    assert record.decisions[0]["values"]["inputs"] == INPUTS
    assert record.decisions[0]["values"]["event"] == INPUTS
    assert record.inputs == INPUTS
    assert f"no feed named {PASSWORD!r}" in record.errors[1]
    assert store.outbox()[0].message["text"] == f"[ENV] {PASSWORD} {ACCOUNT}"
    store.close()
    assert ENV_VALUE.encode() not in _database_bytes(checker)


def test_pii_patterns_apply_to_decision_values_errors_and_messages(checker: Path) -> None:
    set_vault(checker, audit__include_inputs=True, audit__pii_redaction=True,
              audit__pii_patterns=[r"ACCT-\d{6}", r"hunter\d"])
    record, store = _run_checker(checker)
    assert record.decisions[0]["values"]["event"] == {
        "api_password": "INPUTSECRET-[REDACTED]", "account": "[REDACTED]"}
    assert "no feed named 'INPUTSECRET-[REDACTED]'" in record.errors[1]
    assert store.outbox()[0].message["text"] == "[ENV] INPUTSECRET-[REDACTED] [REDACTED]"
    recorded = _everything(record, store)
    assert ACCOUNT not in recorded and "hunter2" not in recorded
    store.close()
    assert ACCOUNT.encode() not in _database_bytes(checker)


def test_an_env_value_that_reaches_a_capture_or_an_audit_event_is_masked(project: Path) -> None:
    set_vault(project, env_allowlist=["API_TOKEN"], audit__include_outputs=True)
    write_agent(project, "copier", "  - skill: core.logic.set_output\n"
                "    args: {token: \"{{ env.API_TOKEN }}\"}\n    capture: copied\n"
                "  - condition: \"{{ copied.token }}\"\n"
                "  - skill: core.audit.log\n    args: {event: \"got {{ copied.token }}\"}\n"
                "  - end_condition\n")
    record, store = run(project, "copier", {"API_TOKEN": ENV_VALUE})
    assert record.status == "success", record.errors
    assert record.decisions[0]["values"] == {"copied": {"token": "[ENV]"}}
    assert record.outputs["audit_log"] == [{"event": "got [ENV]"}]
    assert record.outputs["captures"]["copied"] == {"token": "[ENV]"}
    assert ENV_VALUE not in _everything(record, store)


def test_only_the_env_variables_a_condition_reads_are_named(project: Path) -> None:
    set_vault(project, env_allowlist=["API_TOKEN", "DESK", "REGION"])
    write_agent(project, "picky", "  - condition: \"{{ env.DESK == 'rates' && env.UNSET }}\"\n"
                "  - skill: core.audit.log\n    args: {event: x}\n  - end_condition\n")
    record, _store = run(project, "picky", {"API_TOKEN": ENV_VALUE, "DESK": "rates",
                                            "REGION": "emea"})
    assert record.decisions[0]["values"] == {"env": {"DESK": "[ENV]", "UNSET": None}}


def _cli_outputs(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """What `run --json`, `audit --format json|csv` and `logs --json` print after one run."""
    install(project, STAGING).close()
    outputs: dict[str, str] = {}
    inputs = [arg for name, value in INPUTS.items() for arg in ("--input", f"{name}={value}")]
    for verb, args in [("run", ["run", "checker", "--now", "--env", "staging", "--json", *inputs]),
                       ("audit json", ["audit", "--format", "json"]),
                       ("audit csv", ["audit", "--format", "csv"]),
                       ("logs", ["logs", "--agent", "checker", "--env", "staging", "--json"])]:
        code = flexor_main(project, *args)
        captured = capsys.readouterr()
        assert code in (ExitCode.OK, ExitCode.FAILED), captured.err
        outputs[verb] = captured.out + captured.err
    return outputs


def test_run_audit_and_logs_print_neither_value(checker: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("API_TOKEN", ENV_VALUE)
    outputs = _cli_outputs(checker, capsys)
    for verb, out in outputs.items():
        assert "[ENV]" in out and "[INPUT]" in out, verb
        for value in (ENV_VALUE, "T0ENVSECRET", PASSWORD, ACCOUNT):
            assert value not in out, (verb, value)
    entry: dict[str, Any] = json.loads(outputs["run"])
    assert entry["decisions"][0]["values"]["env"] == {"API_TOKEN": "[ENV]"}


def test_with_include_inputs_the_verbs_show_inputs_but_never_env_values(
        checker: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    set_vault(checker, audit__include_inputs=True)
    monkeypatch.setenv("API_TOKEN", ENV_VALUE)
    for verb, out in _cli_outputs(checker, capsys).items():
        assert PASSWORD in out, verb
        assert ENV_VALUE not in out and "T0ENVSECRET" not in out, verb
