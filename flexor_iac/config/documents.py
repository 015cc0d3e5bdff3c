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
        _data, marks = _build_document(text)
    except (yaml.YAMLError, _Problem):
        marks = {}  # valid JSON that YAML cannot mark (rare: tabs); errors point at line 1
    return Document(display, data, marks)


def _parse_yaml(text: str, display: str) -> Document:
    try:
        data, marks = _build_document(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _Problem(f"invalid YAML: {error.problem or error.context}", "yaml-syntax",
                       line, col) from error
    except yaml.YAMLError as error:
        raise _Problem(f"invalid YAML: {error}", "yaml-syntax") from error
    return Document(display, data, marks)


_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _build_document(text: str) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Compose with the C parser, then build data and marks in one pass over the nodes."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Problem("file holds no YAML document", "file-empty")
        builder = _Builder(loader)
        return builder.build(node, ()), builder.marks
    finally:
        loader.dispose()


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Plain data from a node tree, recording each key path's position.

    Scalars and unusual tags go through PyYAML's own safe constructors; maps and sequences are
    built here so the tree is walked once. Aliases are expanded (never shared) and counted, so
    an alias bomb stops at MAX_NODES instead of exploding later.
    """

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.marks: dict[Loc, tuple[int, int]] = {}
        self.count = 0

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Problem(f"more than {MAX_NODES} values once aliases are expanded "
                           "(an alias bomb?)", "yaml-too-large")
        if len(loc) > MAX_DEPTH:
            raise _Problem(f"nested deeper than {MAX_DEPTH} levels", "yaml-too-deep", *_mark(node))
        self.marks.setdefault(loc, _mark(node))
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.build(item, (*loc, index)) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        return self.loader.construct_object(node, deep=True)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        make = self.loader.yaml_constructors.get(node.tag)
        return make(self.loader, node) if make else self.loader.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        if any(key.tag == _MERGE for key, _value in node.value):
            self.loader.flatten_mapping(node)  # `<<: *base` merge keys, PyYAML's semantics
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Problem("mapping keys must be plain values", "yaml-syntax",
                               *_mark(key_node))
            key = self._scalar(key_node)
            if key in result:
                raise _Problem(f"duplicate key `{key}`", "yaml-duplicate-key", *_mark(key_node))
            self.marks[(*loc, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*loc, key))
        return result
