"""Where the control plane is, and how its URL is shown: never with its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.controlplane.location import locate, redacted, scrub, team_database


def test_a_url_is_shown_without_any_of_its_passwords() -> None:
    assert redacted("postgresql://ops:s3cret@db/flexor?password=two&sslmode=require") == \
        "postgresql://ops:***@db/flexor?password=***&sslmode=require"
    assert redacted("postgresql://ops@db/flexor") == "postgresql://ops@db/flexor"
    assert scrub("could not parse ops:s3cret@[::1/flexor", "postgresql://ops:s3cret@[::1/f") \
        == "could not parse ops:***@[::1/flexor"


def test_the_control_plane_the_state_and_the_locks_never_split(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: flexor\nruntime: python\nconfig:\n  flexor:database: postgresql://db/team\n")
    assert locate(tmp_path) == team_database(tmp_path) == "postgresql://db/team"
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", str(tmp_path / "own.db"))  # a file wins over config
    assert locate(tmp_path) == tmp_path / "own.db" and team_database(tmp_path) is None
    monkeypatch.setenv("FLEXOR_DATABASE_URL", "postgresql://other/team")  # the variable wins
    assert locate(tmp_path) == team_database(tmp_path) == "postgresql://other/team"
