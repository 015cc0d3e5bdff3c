"""Reading one file: every problem is one located diagnostic, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flexor_iac.config import documents
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


@pytest.mark.parametrize("content", [
    b"a: 1\nb: [x, 2.5, true, null, ~, yes, 0o17, 0x1f]\nc: {d: 2024-01-02, e: '3'}\n",
    b"base: &base {x: 1, y: [1, 2]}\nuse: {<<: *base, y: 3}\nagain: *base\n",
    b"? [complex, key]\n: value\n",
    b"tagged: !!str 42\nset: !!set {a, b}\nbinary: !!binary aGVsbG8=\n",
    b"name: x\nname: y\n",
    b"custom: !thing 1\n",
    b"".join(b"  " * depth + b"- \n" for depth in range(70)),
    BOMB,
])
def test_fast_reading_gives_what_the_marking_reader_gives(tmp_path: Path, content: bytes) -> None:
    """The fast path hands anything unusual to the marking builder: same data, same errors."""
    found = _read(tmp_path, "a.yaml", content)
    text = content.decode()
    try:
        expected: object = documents._build_document(text)[0]
    except documents._Problem as problem:
        expected = problem.rule
    except yaml.YAMLError:
        expected = "yaml-syntax"
    if isinstance(found, Document):
        assert found.data == expected
    else:
        assert found.rule == expected


def test_positions_are_found_only_when_asked(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = documents._build_document

    def counting(text: str) -> tuple[object, documents.Marks]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(documents, "_build_document", counting)
    doc = _read(tmp_path, "a.yaml", b"name: x\ntasks:\n  - skill: s\n")
    assert isinstance(doc, Document) and calls == []
    assert doc.where(("tasks", 0, "skill")) == (3, 5)
    assert doc.where(("name",)) == (1, 1)
    assert len(calls) == 1
