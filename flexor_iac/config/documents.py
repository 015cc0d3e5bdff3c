"""Read one YAML or JSON file into plain data plus the line/column of every key and item."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flexor_iac.config.diagnostics import Diagnostic

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000  # after expanding aliases: stops "billion laughs" documents
MAX_DEPTH = 64

Loc = tuple[str | int, ...]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    """A parsed file: its data and where each key path starts (1-based line, col)."""

    path: str
    data: Any
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Loc) -> tuple[int, int]:
        """The mark of the longest prefix of `loc` that exists in the file."""
        for end in range(len(loc), -1, -1):
            if (found := self.marks.get(loc[:end])) is not None:
                return found
        return (1, 1)

    def diagnostic(self, loc: Loc, message: str, rule: str, severity: str = "error") -> Diagnostic:
        """A diagnostic located at `loc` in this file."""
        line, col = self.where(loc)
        return Diagnostic(self.path, line, col, severity, message, rule)  # type: ignore[arg-type]


class _Problem(Exception):
    def __init__(self, message: str, rule: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.rule, self.line, self.col = rule, line, col


def read_document(path: Path, display: str) -> Document | Diagnostic:
    """Parse `path` (YAML, or JSON for *.json); any problem becomes one located Diagnostic."""
    try:
        text = _read_text(path)
        if path.suffix == ".json":
            return _parse_json(text, display)
        return _parse_yaml(text, display)
    except _Problem as problem:
        return Diagnostic(display, problem.line, problem.col, "error", str(problem), problem.rule)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _Problem(f"file is {size // 1024} KiB; project files may be at most "
                           f"{MAX_FILE_BYTES // 1024} KiB", "file-too-large")
        raw = path.read_bytes()
    except OSError as error:
        raise _Problem(f"cannot read file: {error.strerror}", "file-unreadable") from error
    if b"\0" in raw:
        raise _Problem("binary file (contains NUL bytes); expected UTF-8 text", "file-binary")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        col = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise _Problem(f"not valid UTF-8 (byte 0x{raw[error.start]:02x})", "file-encoding",
                       line, col) from error
    if not text.strip():
        raise _Problem("file is empty", "file-empty")
    return text.removeprefix("\ufeff")


def _parse_json(text: str, display: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _Problem(f"invalid JSON: {error.msg}", "json-syntax", error.lineno, error.colno) \
            from error
    try:
        node = yaml.compose(text, Loader=_Loader)
        marks = _marks(node) if node is not None else {}
    except yaml.YAMLError:
        marks = {}  # valid JSON that YAML cannot mark (rare: tabs); errors point at line 1
    return Document(display, data, marks)


def _parse_yaml(text: str, display: str) -> Document:
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise _Problem("file holds no YAML document", "file-empty")
            marks = _marks(node)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _Problem(f"invalid YAML: {error.problem or error.context}", "yaml-syntax",
                       line, col) from error
    except yaml.YAMLError as error:
        raise _Problem(f"invalid YAML: {error}", "yaml-syntax") from error
    return Document(display, data, marks)


def _marks(root: yaml.Node) -> dict[Loc, tuple[int, int]]:
    """Walk the node tree (iteratively, counting expanded aliases) recording each path's mark."""
    marks: dict[Loc, tuple[int, int]] = {}
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    visited = 0
    while stack:
        node, loc = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            raise _Problem(f"more than {MAX_NODES} values once aliases are expanded "
                           "(an alias bomb?)", "yaml-too-large")
        if len(loc) > MAX_DEPTH:
            raise _Problem(f"nested deeper than {MAX_DEPTH} levels", "yaml-too-deep",
                           node.start_mark.line + 1, node.start_mark.column + 1)
        marks.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.tag)
                if key in seen:
                    raise _Problem(f"duplicate key `{key}`", "yaml-duplicate-key",
                                   key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                seen.add(key)
                marks[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                stack.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node.value))
    return marks
