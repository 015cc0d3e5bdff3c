"""Read one YAML or JSON file into plain data; find the line/column of keys when asked.

Reading is two-speed. The fast path builds plain data from PyYAML's C-composed node tree and
records no positions; nearly every file is only ever read this way. Positions are needed only
to report a problem, so `Document.marks` parses the file's text again with the marking builder
the first time a diagnostic asks where something is. Anything unusual the fast path meets
(duplicate keys, merge keys, custom tags, too many or too deeply nested values) sends the file
through the marking builder at once, which turns it into a located diagnostic or, for merge
keys, the same data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import yaml

from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.files import (
    NotRegular,
    Refused,
    TooLarge,
    boundary_of,
    identify,
    read_regular,
)
from flexor_iac.project.json_depth import too_deep

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000  # after expanding aliases: stops "billion laughs" documents
MAX_DEPTH = 64

Loc = tuple[str | int, ...]
Marks = dict[Loc, tuple[int, int]]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    """A parsed file: its display path, its data and its text (to find positions in)."""

    path: str
    data: Any
    text: str = field(default="", repr=False)

    @cached_property
    def marks(self) -> Marks:
        """Where each key path starts (1-based line, col), found on first use."""
        try:
            return _build_document(self.text)[1]
        except (yaml.YAMLError, _Problem):
            return {}  # valid JSON that YAML cannot mark (rare: tabs); errors point at line 1

    def where(self, loc: Loc) -> tuple[int, int]:
        """The mark of the longest prefix of `loc` that exists in the file."""
        marks = self.marks
        for end in range(len(loc), -1, -1):
            if (found := marks.get(loc[:end])) is not None:
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
        text = _read_text(path, display)
        if path.suffix == ".json":
            return Document(display, _parse_json(text), text)
        return Document(display, _parse_yaml(text), text)
    except _Problem as problem:
        return Diagnostic(display, problem.line, problem.col, "error", str(problem), problem.rule)


def _read_text(path: Path, display: str) -> str:
    found, identity = identify(path, *boundary_of(path, display))
    if isinstance(found, Refused):
        raise _Problem(found.message, found.rule)  # a FIFO or device is never opened
    try:
        raw = read_regular(path, MAX_FILE_BYTES, identity)  # the file examined, or none
    except TooLarge as error:
        raise _Problem(f"file is {error.size // 1024} KiB; project files may be at most "
                       f"{MAX_FILE_BYTES // 1024} KiB", "file-too-large") from error
    except OSError as error:
        if isinstance(error, NotRegular) and identity is not None:  # swapped since examined
            raise _Problem(error.message, "file-not-regular") from error
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


def _parse_json(text: str) -> Any:
    if (where := too_deep(text, MAX_DEPTH)) is not None:  # before json.loads recurses into it
        raise _Problem(f"nested deeper than {MAX_DEPTH} levels", "json-too-deep", *where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _Problem(f"invalid JSON: {error.msg}", "json-syntax", error.lineno, error.colno) \
            from error


def _yaml_data(text: str) -> Any:
    try:
        return _fast_data(text)
    except _Unusual:
        return _build_document(text)[0]  # the marking builder: located problems, merge keys


def _parse_yaml(text: str) -> Any:
    try:
        return _yaml_data(text)
    except yaml.MarkedYAMLError as error:
        raise _yaml_problem(error) from error
    except yaml.YAMLError as error:
        raise _Problem(f"invalid YAML: {error}", "yaml-syntax") from error


def _yaml_problem(error: yaml.MarkedYAMLError) -> _Problem:
    """A YAML syntax error where the user must look: a quoted value never closed is reported
    where it opens (the scanner notices only at the end of the file, or at a `---`)."""
    mark = error.problem_mark or error.context_mark
    message = str(error.problem or error.context)
    if error.context == "while scanning a quoted scalar" and error.context_mark:
        mark = error.context_mark
        message = f"the quoted value that starts here is not closed ({error.problem})"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return _Problem(f"invalid YAML: {message}", "yaml-syntax", line, col)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


class _Unusual(Exception):
    """The fast path met something only the marking builder handles (or reports)."""


_MAX_REMEMBERED = 65536


class _MemoLoader(_Loader):  # type: ignore[misc,valid-type]
    """The C loader with implicit tag resolution remembered per (value, implicit) pair.

    Resolution runs regular expressions in Python for every scalar; project files repeat the
    same keys and values thousands of times. SafeLoader has no path resolvers, so the tag of
    a scalar depends on nothing else.
    """

    _resolved: ClassVar[dict[tuple[str, tuple[bool, bool]], str]] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            if len(self._resolved) >= _MAX_REMEMBERED:  # a long-lived process: stay bounded
                self._resolved.clear()
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag


def _fast_data(text: str) -> Any:
    """Plain data from `text`, or _Unusual when the marking builder must take over."""
    loader = _MemoLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Problem("file holds no YAML document", "file-empty")
        return _FastBuilder(loader).build(node, 0)
    finally:
        loader.dispose()


class _FastBuilder:
    """Plain data from a node tree with no positions: the common case, kept lean."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.constructors = loader.yaml_constructors
        self.left = MAX_NODES

    def build(self, node: yaml.Node, depth: int) -> Any:
        self.left -= 1
        if self.left < 0 or depth > MAX_DEPTH:
            raise _Unusual
        kind, tag = node.__class__, node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            make = self.constructors.get(tag)
            if make is None:
                raise _Unusual
            return make(self.loader, node)
        if kind is yaml.MappingNode and tag == _MAP:
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not yaml.ScalarNode or key_node.tag == _MERGE:
                    raise _Unusual
                key = key_node.value if key_node.tag == _STR else self.build(key_node, depth)
                if key in result:
                    raise _Unusual
                result[key] = self.build(value_node, depth + 1)
            return result
        if kind is yaml.SequenceNode and tag == _SEQ:
            return [self.build(item, depth + 1) for item in node.value]
        raise _Unusual


def _build_document(text: str) -> tuple[Any, Marks]:
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
