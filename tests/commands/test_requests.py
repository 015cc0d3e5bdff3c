"""`flexor reject`: an admin who did not make a pending request rejects it; it is then never
applied, approved or rejected again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_main
from tests.helpers.keys import issue_key


def test_only_another_admin_rejects_a_pending_request(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with ControlPlane(locate(project)) as store:
        alice = issue_key(store, "alice", "admin")
        bob = issue_key(store, "bob", "admin")
        reader = issue_key(store, "rita", "read", role="viewer")
        store.add_request(DeploymentRequest(
            "R-1", "production", {"plan": {"changes": []}, "vaults": []}, "sha256:p", "alice",
            clock.now() - timedelta(hours=1), "pending"))
    for key, said in ((reader, "`flexor reject` needs an API key with scope admin"),
                      (alice, "alice made request R-1; someone else must reject it")):
        monkeypatch.setenv("FLEXOR_API_KEY", key)
        assert flexor_main(project, "reject", "R-1") == ExitCode.REFUSED
        assert said in capsys.readouterr().err
    monkeypatch.setenv("FLEXOR_API_KEY", bob)
    assert flexor_main(project, "reject", "R-1") == ExitCode.OK
    assert "Rejected R-1: it is never applied" in capsys.readouterr().out
    with ControlPlane(locate(project)) as store:
        rejected = store.request("R-1")
        assert rejected is not None and (rejected.status, rejected.approved_by) == (
            "rejected", "bob")
    for verb in ("reject", "approve"):
        assert flexor_main(project, verb, "R-1") == ExitCode.REFUSED
        assert "request R-1 is rejected" in capsys.readouterr().err
