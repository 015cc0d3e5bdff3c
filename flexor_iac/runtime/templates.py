"""Flexor templates (`{{ … }}`) on Jinja2's sandboxed environment.

Flexor expressions use `!`, `||` and `&&`; they are rewritten to Jinja's `not`, `or`, `and`
outside string literals before Jinja parses them. Everything else is plain Jinja.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

_OPERATORS = [("||", " or "), ("&&", " and ")]
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# `{{ a.b.c }}`: a plain reference. Text whose every expression is one, with no block or
# comment tags, is valid Jinja by construction and needs no parser (the common case).
_PLAIN_REFERENCE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*")


def _rewrite_code(code: str) -> str:
    for flexor, jinja in _OPERATORS:
        code = code.replace(flexor, jinja)
    return re.sub(r"!(?!=)", " not ", code)


def to_jinja_expression(expression: str) -> str:
    """Rewrite Flexor operators in one expression, leaving string literals alone."""
    parts = re.split(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""", expression)
    return "".join(part if index % 2 else _rewrite_code(part) for index, part in enumerate(parts))


def to_jinja(text: str) -> str:
    """Rewrite every `{{ … }}` in a template string."""
    return _EXPRESSION.sub(lambda m: "{{" + to_jinja_expression(m.group(1)) + "}}", text)


@cache
def environment() -> SandboxedEnvironment:
    """The one sandboxed environment templates are parsed and rendered with."""
    return SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def is_template(value: object) -> bool:
    """Whether a value is a string holding at least one `{{ … }}`."""
    return isinstance(value, str) and "{{" in value


def parse(text: str) -> nodes.Template:
    """Parse a Flexor template; raises TemplateError with Jinja's message."""
    try:
        return environment().parse(to_jinja(text))
    except TemplateSyntaxError as error:
        raise TemplateError(error.message or "invalid template") from None


class TemplateError(ValueError):
    """A template that does not parse."""


def env_reads(tree: nodes.Template) -> set[str]:
    """Names read as `env.NAME` or `env['NAME']` in a parsed template."""
    found = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "env":
            found.add(node.attr)
    for item in tree.find_all(nodes.Getitem):
        if (isinstance(item.node, nodes.Name) and item.node.name == "env"
                and isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str)):
            found.add(item.arg.value)
    return found


@dataclass(frozen=True)
class TemplateFacts:
    """What validation needs to know about one template text."""

    error: str | None
    env_reads: frozenset[str]


def _plain_references(text: str) -> list[str] | None:
    """The references of a text made only of literal text and plain `{{ a.b }}` (else None)."""
    if "{%" in text or "{#" in text:
        return None
    references = []
    for inner in _EXPRESSION.findall(text):
        if (plain := _PLAIN_REFERENCE.fullmatch(inner)) is None:
            return None
        references.append(plain.group(1))
    outside = _EXPRESSION.sub("", text)
    return None if "{{" in outside or "}}" in outside else references


@lru_cache(maxsize=65536)
def facts(text: str) -> TemplateFacts:
    """Parse error (or None) and `env.X` reads of a template; computed once per distinct text."""
    if (references := _plain_references(text)) is not None:
        return TemplateFacts(None, frozenset(
            ref.split(".")[1] for ref in references if ref.startswith("env.")))
    try:
        return TemplateFacts(None, frozenset(env_reads(parse(text))))
    except TemplateError as error:
        return TemplateFacts(str(error), frozenset())
