"""`flexor plexifact load`: demo data, a data file, clear errors for bad data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.runtime.plexifact import EmbeddedCatalog, Limits, open_catalog
from tests.helpers.cli import flexor_main


@pytest.mark.embedded
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


@pytest.mark.parametrize("source, said", [
    ("fifo", "not a regular file (a named pipe)"),
    ("/dev/zero", "not a regular file (a character device)"),
    ("sparse", "larger than 64 MiB"),
    ("latin-1", "not UTF-8 text (byte 15)"),
    ("missing", "No such file or directory"),
], ids=["named pipe", "endless device", "too large", "not utf-8", "missing"])
def test_a_data_file_that_is_no_file_to_read_is_one_line_and_never_waited_on(
        project: Path, capsys: pytest.CaptureFixture[str], source: str, said: str) -> None:
    data = project / "feeds.yaml"
    if source == "fifo":
        os.mkfifo(data)  # no writer: opening it to read would wait forever
    elif source == "sparse":
        with data.open("wb") as sparse:  # holes: reading them all would take long
            sparse.truncate(65 << 20)
    elif source == "latin-1":
        data.write_bytes(b"feeds: []\n# caf\xe9\n")
    elif source == "/dev/zero":
        data = Path(source)
    code = flexor_main(project, "plexifact", "load", "--env", "staging", str(data))
    err = capsys.readouterr().err
    assert (code, err) == (1, f"error: {data}: cannot read catalog data: {said}\n")
    assert not (project / ".flexor/plexifact").exists()


@pytest.mark.engine
def test_in_team_mode_a_catalog_loaded_on_one_clone_is_read_by_every_clone(
        project: Path, tmp_path: Path, team_database: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLEXOR_DATABASE_URL", team_database)
    assert flexor_main(project, "plexifact", "load", "--env", "staging") == ExitCode.OK
    assert capsys.readouterr().out.startswith(
        "Loaded 3 feed(s) and 6 position(s) into plexifact://staging/catalog (the team "
        "control plane, postgresql://")
    assert not (project / ".flexor" / "plexifact").exists()
    clone = tmp_path / "runner"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns(".flexor"))
    with ControlPlane(locate(clone)) as store:
        catalog = open_catalog(ProjectPaths(clone).state_dir, "plexifact://staging/catalog",
                               Limits(), store)
        assert catalog.feed_metadata("equity-prices")["row_count"] == 5210
        assert open_catalog(ProjectPaths(clone).state_dir, "plexifact://prod/catalog",
                            Limits(), store).health().startswith("unreachable (")
