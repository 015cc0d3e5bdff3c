"""Reading one file: every problem is one located diagnostic, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.config.diagnostics import Diagnostic
from flexor_iac.config.documents import Document, read_document

# "Billion laughs": six levels of ten aliases each expand to a million values.
BOMB = b"l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n".encode() for i in range(1, 6))


def _read(tmp_path: Path, name: str, content: bytes) -> Document | Diagnostic:
    path = tmp_path / name
    path.write_bytes(content)
    return read_document(path, name)


@pytest.mark.parametrize(("content", "rule", "where"), [
    (b"", "file-empty", (1, 1)),
    (b"  \n\n", "file-empty", (1, 1)),
    (b"name: a\0b\n", "file-binary", (1, 1)),
    (b"name: ok\ndescription: caf\xe9\n", "file-encoding", (2, 17)),
    (b"name: [unclosed\n", "yaml-syntax", (2, 1)),
    (b"name: a\nname: b\n", "yaml-duplicate-key", (2, 1)),
    (BOMB, "yaml-too-large", (1, 1)),
])
def test_bad_yaml_becomes_one_diagnostic(tmp_path: Path, content: bytes, rule: str,
                                         where: tuple[int, int]) -> None:
    found = _read(tmp_path, "agent.yaml", content)
    assert isinstance(found, Diagnostic)
    assert (found.rule, (found.line, found.col)) == (rule, where)
    assert found.render().startswith(f"agent.yaml:{where[0]}:{where[1]}: error: ")


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    found = _read(tmp_path, "big.yaml", b"x: " + b"a" * (10 * 1024 * 1024) + b"\n")
    assert isinstance(found, Diagnostic) and found.rule == "file-too-large"


def test_json_syntax_error_is_located(tmp_path: Path) -> None:
    found = _read(tmp_path, "vault.json", b'{\n  "name": "x",\n  "tier" "L2"\n}\n')
    assert isinstance(found, Diagnostic)
    assert (found.rule, found.line) == ("json-syntax", 3)


def test_marks_point_at_keys_and_items(tmp_path: Path) -> None:
    doc = _read(tmp_path, "a.yaml", b"name: x\ntasks:\n  - skill: s\n    args:\n      k: 1\n")
    assert isinstance(doc, Document)
    assert doc.where(("tasks", 0, "args", "k")) == (5, 7)
    assert doc.where(("tasks", 0, "args", "missing")) == (4, 5)
    assert doc.where(("name",)) == (1, 1)
