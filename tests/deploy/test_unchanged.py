"""The record that lets a deploy with nothing to do skip the engine."""

from __future__ import annotations

from pathlib import Path

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.deploy import plan as plans
from flexor_iac.deploy import unchanged

STAGING = Environment.STAGING


def test_only_both_digests_matching_give_back_the_recorded_plan(tmp_path: Path) -> None:
    with ControlPlane(tmp_path / "control-plane.db") as store:
        plan = plans.Plan(STAGING, (), (), 3)
        unchanged.record(store, STAGING, "project-1", "state-1", plan)
        assert unchanged.still(store, STAGING, "project-1", "state-1") == plan
        assert unchanged.still(store, STAGING, "project-2", "state-1") is None
        assert unchanged.still(store, STAGING, "project-1", "state-2") is None
        assert unchanged.still(store, Environment.PRODUCTION, "project-1", "state-1") is None


def test_an_unreadable_record_means_asking_the_engine(tmp_path: Path) -> None:
    with ControlPlane(tmp_path / "control-plane.db") as store:
        for text in ("not json", '{"project": "p"}', '["p", "s"]',
                     '{"project": "p", "state": "s", "plan": {"environment": "nowhere"}}'):
            store.set_note(f"deployed/{STAGING.value}", text)
            assert unchanged.still(store, STAGING, "p", "s") is None
