"""The example project without its own agents: each test declares the agents it serves."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(project: Path) -> Path:
    for agent in (project / "agents").glob("*.yaml"):
        agent.unlink()
    return project
