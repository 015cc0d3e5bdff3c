"""Flexor templates (`{{ … }}`) on Jinja2's sandboxed environment.

Flexor expressions use `!`, `||` and `&&`; they are rewritten to Jinja's `not`, `or`, `and`
outside string literals before Jinja parses them. Everything else is plain Jinja, in a sandbox
(language/sandbox.py), rendered in a worker held to limits (language/render_pool.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from flexor_iac.language.expressions import simple_env_reads

if TYPE_CHECKING:  # jinja2 is imported when a template needs parsing (validate often doesn't)
    from jinja2 import nodes

    from flexor_iac.language.sandbox import LimitedEnvironment

_OPERATORS = [("||", " or "), ("&&", " and ")]
EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


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
    return EXPRESSION.sub(lambda m: "{{" + to_jinja_expression(m.group(1)) + "}}", text)


@cache
def environment() -> LimitedEnvironment:
    """The one sandboxed environment templates are parsed and rendered with."""
    from flexor_iac.language.sandbox import LimitedEnvironment

    return LimitedEnvironment()


def is_template(value: object) -> bool:
    """Whether a value is a string holding at least one `{{ … }}`."""
    return isinstance(value, str) and "{{" in value


def parse(text: str) -> nodes.Template:
    """Parse a Flexor template; raises TemplateError with Jinja's message."""
    from jinja2 import TemplateSyntaxError

    try:
        return environment().parse(to_jinja(text))
    except TemplateSyntaxError as error:
        raise TemplateError(error.message or "invalid template") from None


class TemplateError(ValueError):
    """A template that does not parse."""


def env_reads(tree: nodes.Template) -> set[str]:
    """Names read as `env.NAME` or `env['NAME']` in a parsed template."""
    from jinja2 import nodes

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


@lru_cache(maxsize=65536)
def _simple_expression_reads(code: str) -> frozenset[str] | None:
    """`env.X` reads of one simple expression (texts differ, their expressions repeat)."""
    reads = simple_env_reads(to_jinja_expression(code))
    return None if reads is None else frozenset(reads)


def _simple_facts(text: str) -> TemplateFacts | None:
    """Facts of a text whose every `{{ … }}` is a simple expression (else None: ask Jinja)."""
    if "{%" in text or "{#" in text:
        return None
    reads: set[str] = set()
    for inner in EXPRESSION.findall(text):
        if (found := _simple_expression_reads(inner)) is None:
            return None
        reads |= found
    outside = EXPRESSION.sub("", text)
    return None if "{{" in outside or "}}" in outside else TemplateFacts(None, frozenset(reads))


@lru_cache(maxsize=65536)
def facts(text: str) -> TemplateFacts:
    """Parse error (or None) and `env.X` reads of a template; computed once per distinct text."""
    if (simple := _simple_facts(text)) is not None:
        return simple
    try:
        return TemplateFacts(None, frozenset(env_reads(parse(text))))
    except TemplateError as error:
        return TemplateFacts(str(error), frozenset())


# --- rendering (the runtime) --------------------------------------------------------------------

class RenderError(ValueError):
    """A template that fails when rendered (undefined name, wrong type, unsafe access)."""


# An expression that only reads: a name and its attributes (`result.is_fresh`), or `now()`,
# perhaps negated. It cannot loop, build or call anything but the clock.
_REFERENCE = re.compile(r"\s*(?:(?:!|not\s)\s*)*(?:now\(\)|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*")


@lru_cache(maxsize=65536)
def is_reference(text: str) -> bool:
    """Whether every `{{ … }}` of a template only reads a value (`{{ inputs.fund }}`,
    `{{ !result.is_fresh }}`, `{{ now() }}`), with no block, operator, filter or call: what
    rendering it may spend is bounded by what it is given, so it needs no worker."""
    if "{%" in text or "{#" in text:
        return False
    codes = EXPRESSION.findall(text)
    outside = EXPRESSION.sub("", text)
    return bool(codes) and "{{" not in outside and "}}" not in outside \
        and all(_REFERENCE.fullmatch(code) for code in codes)


def templates_in(value: Any) -> list[str]:
    """The templates in `value` (strings inside dicts and lists too), in order."""
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return [text for item in items for text in templates_in(item)]
    return [value] if is_template(value) else []


@lru_cache(maxsize=4096)
def _names(text: str) -> frozenset[str]:
    """The names a template loads, found in its parse tree only: compiling it here would fold
    its constants (`7 ** 9999999`) in this process, outside the render worker's limits."""
    from jinja2 import nodes

    try:
        tree = parse(text)
    except TemplateError:
        return frozenset()
    return frozenset(node.name for node in tree.find_all(nodes.Name) if node.ctx == "load")


def names_read_by(value: Any) -> set[str]:
    """The names the templates in `value` read (what their rendering needs: with the names a
    template sets itself, which are not looked up)."""
    return {name for text in templates_in(value) for name in _names(text)}


def names_read(expression: str) -> set[str]:
    """The names an expression reads (the values that drive a decision)."""
    return set(_names(expression))
