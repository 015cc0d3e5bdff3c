"""Where the control plane is, and how its URL is shown: never with its password."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flexor_iac.controlplane.location import (
    locate,
    pulumi_backend,
    redacted,
    scrub,
    team_database,
)


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


@pytest.mark.parametrize("damage", ["not utf-8", "a named pipe", "a folder", "too large",
                                    "too deep"])
def test_a_pulumi_yaml_that_cannot_be_read_leaves_the_embedded_store(
        tmp_path: Path, damage: str) -> None:
    """validate reports the file; finding the control plane neither crashes nor waits."""
    pulumi_yaml = tmp_path / "Pulumi.yaml"
    if damage == "not utf-8":
        pulumi_yaml.write_bytes(b"name: flexor\ndescription: caf\xe9\n")
    elif damage == "a named pipe":
        os.mkfifo(pulumi_yaml)  # no writer: opening it to read would wait forever
    elif damage == "a folder":
        pulumi_yaml.mkdir()
    elif damage == "too deep":  # PyYAML's parser recurses once per level
        pulumi_yaml.write_text("config: " + "[" * 5000 + "]" * 5000 + "\n")
    else:
        pulumi_yaml.write_text("config:\n  flexor:database: postgresql://db/team\n"
                               + "# padding\n" * 200_000)
    assert team_database(tmp_path) is None


@pytest.mark.parametrize("url, backend", [
    ("postgresql://ops:pw@db:5432/flexor", "postgres://ops:pw@db:5432/flexor?sslmode=prefer"),
    ("postgresql://db/flexor?connect_timeout=5",
     "postgres://db/flexor?connect_timeout=5&sslmode=prefer"),
    ("postgresql://db/flexor?sslmode=verify-full", "postgres://db/flexor?sslmode=verify-full"),
    ("postgres://db/flexor?sslmode=disable", "postgres://db/flexor?sslmode=disable"),
], ids=["no choice", "other parameters", "verify-full", "disable"])
def test_the_pulumi_state_url_makes_the_tls_choice_the_control_plane_makes(
        url: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg takes a URL without sslmode as `prefer`, Pulumi's lib/pq as `require`."""
    monkeypatch.delenv("PGSSLMODE", raising=False)
    assert pulumi_backend(url) == backend
    monkeypatch.setenv("PGSSLMODE", "require")  # read by both drivers: no need to say it
    assert pulumi_backend(url) == backend.replace("?sslmode=prefer", "").replace(
        "&sslmode=prefer", "")
