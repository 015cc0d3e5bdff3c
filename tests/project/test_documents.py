"""Reading one file: every problem is one located diagnostic, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from flexor_iac.project import documents
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Document, read_document

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
    (b'name: x\ndescription: "abc\nowner: y\nvault: z\n', "yaml-syntax", (2, 14)),
    (b"name: x\ndescription: 'abc\nowner: y\n", "yaml-syntax", (2, 14)),
    (b"name: a\nname: b\n", "yaml-duplicate-key", (2, 1)),
    (BOMB, "yaml-too-large", (1, 1)),
])
def test_bad_yaml_becomes_one_diagnostic(tmp_path: Path, content: bytes, rule: str,
                                         where: tuple[int, int]) -> None:
    found = _read(tmp_path, "agent.yaml", content)
    assert isinstance(found, Diagnostic)
    assert (found.rule, (found.line, found.col)) == (rule, where)
    assert found.render().startswith(f"agent.yaml:{where[0]}:{where[1]}: error: ")


class ThreadReads:
    """Bytes this thread reads, by any means (the kernel's count: /proc/thread-self/io)."""

    def __enter__(self) -> ThreadReads:
        self._before, self._own = self._rchar()  # this look's own bytes count in the next
        self.count = 0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.count = self._rchar()[0] - self._before - self._own

    @staticmethod
    def _rchar() -> tuple[int, int]:
        with open("/proc/thread-self/io", "rb") as counters:
            text = counters.read()
        return int(text.split(b"rchar: ")[1].split(b"\n")[0]), len(text)


def test_reads_are_counted_to_the_byte(tmp_path: Path) -> None:
    with ThreadReads() as reads:
        found = _read(tmp_path, "small.yaml", b"x: a\n")
    assert isinstance(found, Document) and reads.count == len(b"x: a\n")


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x: a\n")
    os.truncate(path, 10 * 1024 * 1024)  # 10 MiB, not one byte of it read by anyone yet
    with ThreadReads() as reads:
        found = read_document(path, "big.yaml")
    assert isinstance(found, Diagnostic) and found.rule == "file-too-large"
    assert found.message == "file is 10240 KiB; project files may be at most 1024 KiB"
    assert reads.count == 0


def test_json_syntax_error_is_located(tmp_path: Path) -> None:
    found = _read(tmp_path, "vault.json", b'{\n  "name": "x",\n  "tier" "L2"\n}\n')
    assert isinstance(found, Diagnostic)
    assert (found.rule, found.line) == ("json-syntax", 3)


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    found = _read(tmp_path, "agent.yaml", b'name: x\ndescription: "abc\n' + b"owner: y\n" * 50)
    assert isinstance(found, Diagnostic)
    assert found.render() == ("agent.yaml:2:14: error: invalid YAML: the quoted value that "
                              "starts here is not closed (found unexpected end of stream) "
                              "[yaml-syntax]")


@pytest.mark.parametrize("levels", [65, 100_000])
def test_deeply_nested_json_is_one_diagnostic(tmp_path: Path, levels: int) -> None:
    found = _read(tmp_path, "vault.json",
                  b'{\n  "name": "x",\n  "a": ' + b"[" * levels + b"]" * levels + b"\n}\n")
    assert isinstance(found, Diagnostic)
    assert found.render() == ("vault.json:3:71: error: nested deeper than 64 levels "
                              "[json-too-deep]")


def test_json_nested_64_levels_is_read(tmp_path: Path) -> None:
    found = _read(tmp_path, "vault.json", b'{"a": ' + b"[" * 63 + b'"[{"' + b"]" * 63 + b"}")
    assert isinstance(found, Document)


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


# --- only regular files inside the project (or the file's vault) are read -----------------------

def _read_soon(path: Path, display: str) -> Document | Diagnostic:
    """read_document in a thread: a read blocked on a FIFO fails the test instead of hanging it."""
    import os
    import threading

    found: list[Document | Diagnostic] = []
    reader = threading.Thread(target=lambda: found.append(read_document(path, display)),
                              daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # blocked in open() or read(): give it an end of file, then fail
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail(f"reading {display} blocked")
    return found[0]


def _nobody_reads(fifo: Path) -> bool:
    """No process has the FIFO open for reading (opening its write end would fail)."""
    import errno
    import os

    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError as error:
        return error.errno == errno.ENXIO
    return False


def test_a_fifo_is_reported_and_never_opened(tmp_path: Path) -> None:
    import os

    (tmp_path / "vaults" / "v" / "skills").mkdir(parents=True)
    fifo = tmp_path / "vaults" / "v" / "skills" / "pipe.yaml"
    os.mkfifo(fifo)
    found = _read_soon(fifo, "vaults/v/skills/pipe.yaml")
    assert isinstance(found, Diagnostic), found
    assert found.render() == ("vaults/v/skills/pipe.yaml:1:1: error: not a regular file (a named "
                              "pipe); only regular files are read [file-not-regular]")
    assert _nobody_reads(fifo)


@pytest.mark.engine
def test_a_device_is_reported_without_being_read(tmp_path: Path) -> None:
    # Reading /dev/zero never ends: a child process with a memory ceiling and a timeout.
    import subprocess
    import sys

    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "zero.yaml").symlink_to("/dev/zero")
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from pathlib import Path\n"
            "from flexor_iac.project.documents import read_document\n"
            "print(read_document(Path(sys.argv[1]), 'agents/zero.yaml'))\n")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "agents" / "zero.yaml")],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("reading a symlink to /dev/zero did not end")
    assert "rule='file-not-regular'" in done.stdout, done.stderr[-2000:]


def test_a_symlink_leaving_the_project_is_reported_and_not_read(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "agents").mkdir(parents=True)
    (tmp_path / "secret.yaml").write_text("name: [the-secret\n")
    (root / "agents" / "leak.yaml").symlink_to(tmp_path / "secret.yaml")
    found = read_document(root / "agents" / "leak.yaml", "agents/leak.yaml")
    assert isinstance(found, Diagnostic)
    assert (found.rule, found.message) == (
        "file-not-regular", f"a symbolic link leading outside the project "
        f"(to {(tmp_path / 'secret.yaml').resolve()}); only files inside it are read")


def test_symlinks_must_stay_inside_their_vault(tmp_path: Path) -> None:
    for vault in ("a", "b"):
        (tmp_path / "vaults" / vault / "skills").mkdir(parents=True)
        (tmp_path / "vaults" / vault / "shared.yaml").write_text(f"name: {vault}\n")
    skills = tmp_path / "vaults" / "a" / "skills"
    (skills / "own.yaml").symlink_to("../shared.yaml")
    (skills / "other.yaml").symlink_to("../../b/shared.yaml")
    own = read_document(skills / "own.yaml", "vaults/a/skills/own.yaml")
    assert isinstance(own, Document) and own.data == {"name": "a"}
    other = read_document(skills / "other.yaml", "vaults/a/skills/other.yaml")
    assert isinstance(other, Diagnostic) and other.rule == "file-not-regular"
    assert "outside its vault" in other.message


def test_a_vault_folder_that_is_a_symlink_leaving_the_project_is_not_read(
        tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "vault.json").write_text('{"name": "x"}')
    (tmp_path / "project" / "vaults").mkdir(parents=True)
    (tmp_path / "project" / "vaults" / "x").symlink_to(tmp_path / "elsewhere")
    found = read_document(tmp_path / "project" / "vaults" / "x" / "vault.json",
                          "vaults/x/vault.json")
    assert isinstance(found, Diagnostic) and found.rule == "file-not-regular"
