"""`flexor plexifact load`: demo data, a data file, clear errors for bad data."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.runtime.plexifact import EmbeddedCatalog, Limits
from tests.helpers.cli import flexor_main


def test_load_fills_the_environment_catalog_from_its_stack_file(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert flexor_main(project, "plexifact", "load", "--env", "staging") == ExitCode.OK
    assert capsys.readouterr().out == ("Loaded 3 feed(s) and 6 position(s) into plexifact://"
                                       "staging/catalog (.flexor/plexifact/staging/catalog.db).\n")
    catalog = EmbeddedCatalog("plexifact://staging/catalog",
                              project / ".flexor/plexifact/staging/catalog.db", Limits())
    assert catalog.feed_metadata("equity-prices")["row_count"] == 5210
    assert not (project / ".flexor/plexifact/prod").exists()


def test_bad_data_files_get_one_line_and_change_nothing(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = project / "feeds.yaml"
    data.write_text("feeds:\n  - {name: x, age_minutes: ten}\n")
    assert flexor_main(project, "plexifact", "load", "--env", "staging", str(data)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {data}: feeds.0.age_minutes: ") and err.count("\n") == 1
    assert not (project / ".flexor/plexifact").exists()


def test_a_data_file_nested_too_deep_is_one_line(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = project / "deep.yaml"
    data.write_text("feeds: " + "[" * 100_000)
    assert flexor_main(project, "plexifact", "load", "--env", "staging", str(data)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read catalog data" in err[0], err
