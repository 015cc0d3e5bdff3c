"""Reading many files at once gives exactly what reading them one by one gives, and reuses the
parse of unchanged files."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from flexor_iac.project import reading
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Document, read_document
from tests.helpers.project import files_settled

FILES = 60


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """FILES small files, every seventh one broken."""
    paths = []
    for index in range(FILES):
        path = tmp_path / f"f{index:02}.yaml"
        path.write_text(f"name: n{index}\nitems: [{index}, x]\nwhen: 2024-01-0{index % 9 + 1}\n"
                        if index % 7 else "a: [\n")
        paths.append(path)
    return paths


def _one_by_one(paths: list[Path], root: Path) -> reading.Parsed:
    return {p.name: read_document(p, p.name) for p in paths if p.parent == root}


def test_reading_at_once_equals_reading_one_by_one(files: list[Path], tmp_path: Path) -> None:
    pending = reading.start_reading(files, tmp_path, cache="off")
    parsed = pending.result()
    assert parsed == _one_by_one(files, tmp_path)
    assert pending.result() is parsed  # asking again does not parse again
    assert sum(isinstance(found, Diagnostic) for found in parsed.values()) == 9
    first = parsed["f01.yaml"]
    assert isinstance(first, Document) and first.data["when"] == datetime.date(2024, 1, 2)


def test_unchanged_files_come_from_the_parse_cache(files: list[Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    files_settled(monkeypatch)
    for path in files:  # no YAML dates: those are parsed each time, never cached
        path.write_text(path.read_text().replace("when: ", "when: x"))
    first = reading.read_documents(files, tmp_path)  # fills .flexor/cache/
    files[1].write_text("name: changed\n")
    pending = reading.start_reading(files, tmp_path)
    assert [display for _path, display in pending.missing] == ["f01.yaml"]  # only it is parsed
    again = pending.result()
    assert {k: v for k, v in again.items() if k != "f01.yaml"} == \
        {k: v for k, v in first.items() if k != "f01.yaml"}
    changed = again["f01.yaml"]
    assert isinstance(changed, Document) and changed.data == {"name": "changed"}
