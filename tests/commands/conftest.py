"""Fixtures the command tests share."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["embedded", pytest.param("team", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs on the embedded store, then in team mode on a new PostgreSQL database
    (with the team's passphrase): the kind, by name."""
    if request.param == "team":
        monkeypatch.setenv("FLEXOR_DATABASE_URL", request.getfixturevalue("team_database"))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-team-passphrase")
    return str(request.param)
