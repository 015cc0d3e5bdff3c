"""Saved plans (`deploy --plan-out` / `--plan`): what is written reads back exactly, and a file
that is no saved plan is one usage line, read within its limit and never waited on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import UsageError
from flexor_iac.deploy import plan_file
from flexor_iac.deploy.plan import Change, Held, Plan
from flexor_iac.deploy.plan_file import Basis, SavedPlan
from flexor_iac.project.selection import Skipped

BASIS = Basis("staging", "sha256:state", "sha256:inputs", {"company": "sha256:snap"},
              ("feed-monitor",))
PLAN = Plan(Environment.STAGING,
            (Change("Agent", "feed-monitor", "update", "1.0", "1.1", ("spec.retry",)),),
            (Skipped("agent", "desk-only", "declared for production"),), 2,
            (Held("old-agent", "0.9", "1.0"),))


def _refusal(path: Path) -> str:
    with pytest.raises(UsageError) as refused:
        plan_file.load(path)
    message = str(refused.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_saved_plan_reads_back_as_it_was_saved(tmp_path: Path) -> None:
    plan_file.save(tmp_path / "staging.plan", BASIS, PLAN)
    assert plan_file.load(tmp_path / "staging.plan") == SavedPlan(BASIS, PLAN)


@pytest.mark.parametrize("damage, said", [
    (lambda doc: doc["basis"].pop("inputs"), "basis.inputs"),
    (lambda doc: doc["plan"]["changes"][0].update(op="explode"), "plan.changes.0.op"),
    (lambda doc: doc["plan"].update(environment="moon"), "plan.environment"),
    (lambda doc: doc["basis"].update(agents="feed-monitor"), "basis.agents"),
    (lambda doc: doc["plan"]["summary"].update(unchanged=-1), "plan.summary.unchanged"),
], ids=["missing field", "unknown operation", "unknown environment", "agents not a list",
        "negative count"])
def test_an_incomplete_plan_names_what_is_wrong(tmp_path: Path, damage: object,
                                               said: str) -> None:
    saved = tmp_path / "staging.plan"
    plan_file.save(saved, BASIS, PLAN)
    doc = json.loads(saved.read_text())
    damage(doc)  # type: ignore[operator]
    saved.write_text(json.dumps(doc))
    message = _refusal(saved)
    assert "the saved plan is incomplete" in message and said in message


def test_a_plan_of_another_format_asks_for_a_new_one(tmp_path: Path) -> None:
    saved = tmp_path / "staging.plan"
    plan_file.save(saved, BASIS, PLAN)
    saved.write_text(saved.read_text().replace('"format_version": 1,', '"format_version": 9,', 1))
    assert "plan format 9 is not 1; make the plan again" in _refusal(saved)


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = tmp_path / "plan.fifo"
    os.mkfifo(pipe)
    assert "not a regular file (a named pipe)" in _refusal(pipe)


def test_an_endless_device_is_refused_without_reading_it() -> None:
    assert "not a regular file (a character device)" in _refusal(Path("/dev/zero"))


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    huge = tmp_path / "huge.plan"
    with huge.open("wb") as sparse:  # 64 GiB of holes: reading it would take minutes
        sparse.truncate(64 << 30)
    assert f"larger than {plan_file.MAX_PLAN_BYTES // (1 << 20)} MiB" in _refusal(huge)


@pytest.mark.parametrize("target", ["/dev/full", "/dev/null"])
def test_a_plan_is_never_saved_to_a_device(target: str) -> None:
    with pytest.raises(UsageError, match=f"--plan-out {target}: not a regular file"):
        plan_file.save(Path(target), BASIS, PLAN)
    assert os.path.exists(target) and not Path(target).is_file()
