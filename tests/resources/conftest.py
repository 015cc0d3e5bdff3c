"""Provider tests use a control plane of their own in the test's temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import ENVIRONMENT_NAMES
from tests.helpers.keys import issue_key


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    """The control plane the providers write (FLEXOR_CONTROL_PLANE points at it), in a
    project of their own (the cwd), with a key that may deploy everywhere (FLEXOR_API_KEY)."""
    database = tmp_path / "control-plane.db"
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(database))
    (tmp_path / "Pulumi.yaml").write_text("name: flexor\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    with ControlPlane(database) as opened:
        monkeypatch.setenv("FLEXOR_API_KEY", issue_key(
            opened, "deployer", *(f"deploy:{env}" for env in ENVIRONMENT_NAMES)))
        yield opened
