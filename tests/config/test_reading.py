"""Reading many files with a helper process gives exactly what reading them one by one gives."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from flexor_iac.config import reading
from flexor_iac.config.diagnostics import Diagnostic
from flexor_iac.config.documents import Document, read_document

FILES = 60


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """FILES small files, every seventh one broken; the helper starts from 10 files."""
    paths = []
    for index in range(FILES):
        path = tmp_path / f"f{index:02}.yaml"
        path.write_text(f"name: n{index}\nitems: [{index}, x]\nwhen: 2024-01-0{index % 9 + 1}\n"
                        if index % 7 else "a: [\n")
        paths.append(path)
    monkeypatch.setattr(reading, "PARALLEL_MIN_FILES", 10)
    monkeypatch.setattr(reading.os, "cpu_count", lambda: 2)
    return paths


def _one_by_one(paths: list[Path], root: Path) -> reading.Parsed:
    return {p.name: read_document(p, p.name) for p in paths if p.parent == root}


def test_helper_read_equals_sequential_read(files: list[Path], tmp_path: Path) -> None:
    pending = reading.start_reading(files, tmp_path, cache="off")
    assert pending.helper is not None
    parsed = pending.result()
    assert parsed == _one_by_one(files, tmp_path)
    assert pending.result() is parsed  # asking again neither waits nor parses again
    assert sum(isinstance(found, Diagnostic) for found in parsed.values()) == 9
    first = parsed["f01.yaml"]  # a YAML date: carried back although marshal cannot hold it
    assert isinstance(first, Document) and first.data["when"] == datetime.date(2024, 1, 2)


def test_a_late_caller_finds_everything_parsed_by_the_helper(files: list[Path],
                                                              tmp_path: Path) -> None:
    pending = reading.start_reading(files, tmp_path, cache="off")
    assert pending.helper is not None
    deadline = time.monotonic() + 60
    while not all(pending.helper.claimed[:]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pending.result() == _one_by_one(files, tmp_path)


def test_a_helper_that_fails_loses_nothing(files: list[Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_parsed: object) -> bytes:
        raise RuntimeError("the helper fails before sending")

    monkeypatch.setattr(reading, "_pack", broken)
    pending = reading.start_reading(files, tmp_path, cache="off")
    assert pending.helper is not None
    assert pending.result() == _one_by_one(files, tmp_path)


def test_small_reads_and_threaded_callers_stay_in_one_process(
        files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert reading.helper_allowed(FILES)
    assert not reading.helper_allowed(5)
    monkeypatch.setattr(reading.threading, "active_count", lambda: 3)
    assert not reading.helper_allowed(10_000)
