"""Provider tests use a control plane of their own in the test's temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    """The control plane the providers write (FLEXOR_CONTROL_PLANE points at it)."""
    database = tmp_path / "control-plane.db"
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(database))
    with ControlPlane(database) as opened:
        yield opened
