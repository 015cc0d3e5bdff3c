"""Reading many files in worker processes gives exactly what reading them one by one gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.config import reading
from flexor_iac.config.diagnostics import Diagnostic


def test_parallel_read_equals_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = []
    for index in range(40):
        path = tmp_path / f"f{index}.yaml"
        path.write_text(f"name: n{index}\nitems: [{index}, x]\n" if index % 7 else "a: [\n")
        paths.append(path)
    monkeypatch.setattr(reading, "PARALLEL_MIN_FILES", 10)
    monkeypatch.setattr(reading.os, "cpu_count", lambda: 2)
    assert reading._workers(len(paths)) == 2
    parallel = reading.read_documents(paths, tmp_path)
    sequential = reading._read_all([(p, p.name) for p in paths])
    assert parallel == sequential
    assert sum(isinstance(found, Diagnostic) for found in parallel.values()) == 6


def test_small_projects_and_threaded_callers_stay_sequential(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert reading._workers(5) == 1
    monkeypatch.setattr(reading.threading, "active_count", lambda: 3)
    assert reading._workers(10_000) == 1
