"""Recognise the simple expressions that are valid Jinja by construction, without Jinja.

Validation only needs to know whether a template parses and which `env.X` it reads. Most
expressions in a project are simple: names with attributes, a call without arguments
(`now()`), literals, comparisons, arithmetic and `not`/`and`/`or` (Flexor's `!`, `&&`, `||`,
already rewritten). For those this small recursive-descent reader answers at once, sparing
Jinja's import (a good part of a quick `flexor validate`). It only ever vouches: whatever it
does not recognise goes to Jinja, which stays the authority (a test checks, on thousands of
generated expressions, that everything recognised here is accepted by Jinja with the same
`env` reads).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?![\w.]))
    | (?P<string>"[^"\\]*"|'[^'\\]*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|[<>+\-*/().])
    )""", re.VERBOSE)
_CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None"})
# Words Jinja's expression parser treats specially (or that read badly as names): never names.
_RESERVED = frozenset({"and", "or", "not", "in", "is", "if", "else", "elif", "for", "endfor",
                       "block", "endblock", "with", "recursive", "import", "from", "as",
                       "set", "macro", "call", "filter", "include", "extends", "raw"})
_BINARY = frozenset({"==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"})
Token = tuple[str, str]


class _NotSimple(Exception):
    """The expression is beyond this reader (not necessarily invalid)."""


def _tokens(code: str) -> list[Token]:
    found: list[Token] = []
    position = 0
    while position < len(code):
        match = _TOKEN.match(code, position)
        if match is None or match.end() == position:
            if code[position:].strip():
                raise _NotSimple
            break
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Reader:
    """expr := and ("or" and)*; and := not ("and" not)*; not := "not" not | operations;
    operations := unary (binary-operator unary)*; unary := "-" unary | primary;
    primary := number | string | constant | name ("." name)* ["(" ")"] | "(" expr ")"."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.env_reads: set[str] = set()

    def _peek(self) -> Token:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def _take(self, value: str) -> bool:
        if self._peek()[1] == value and self._peek()[0] in ("op", "name"):
            self.index += 1
            return True
        return False

    def whole(self) -> set[str]:
        self._or()
        if self.index != len(self.tokens):
            raise _NotSimple
        return self.env_reads

    def _or(self) -> None:
        self._and()
        while self._take("or"):
            self._and()

    def _and(self) -> None:
        self._not()
        while self._take("and"):
            self._not()

    def _not(self) -> None:
        if self._take("not"):
            self._not()
        else:
            self._operations()

    def _operations(self) -> None:
        # Precedence between comparison and arithmetic does not change whether it parses.
        self._unary()
        while self._peek()[0] == "op" and self._peek()[1] in _BINARY:
            self.index += 1
            self._unary()

    def _unary(self) -> None:
        if self._take("-"):
            self._unary()
        else:
            self._primary()

    def _primary(self) -> None:
        kind, value = self._peek()
        self.index += 1
        if kind in ("number", "string") or (kind == "name" and value in _CONSTANTS):
            return
        if kind == "op" and value == "(":
            self._or()
            if not self._take(")"):
                raise _NotSimple
            return
        if kind != "name" or value in _RESERVED:
            raise _NotSimple
        parts = [value]
        while self._take("."):
            kind, value = self._peek()
            if kind != "name" or value in _RESERVED or value in _CONSTANTS:
                raise _NotSimple
            parts.append(value)
            self.index += 1
        if self._take("(") and not self._take(")"):
            raise _NotSimple
        if parts[0] == "env" and len(parts) > 1:
            self.env_reads.add(parts[1])


def simple_env_reads(code: str) -> set[str] | None:
    """The `env.X` names a simple Jinja expression reads; None when it is not simple."""
    try:
        return _Reader(_tokens(code)).whole()
    except _NotSimple:
        return None
