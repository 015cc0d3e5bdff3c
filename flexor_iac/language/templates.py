"""Flexor templates (`{{ … }}`) on Jinja2's sandboxed environment.

Flexor expressions use `!`, `||` and `&&`; they are rewritten to Jinja's `not`, `or`, `and`
outside string literals before Jinja parses them. Everything else is plain Jinja, with limits
on what a rendering may build and spend (runtime/sandbox.py, runtime/limits.py).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from flexor_iac.language.expressions import simple_env_reads

if TYPE_CHECKING:  # jinja2 is imported when a template needs parsing (validate often doesn't)
    import jinja2
    from jinja2 import nodes

    from flexor_iac.language.sandbox import LimitedEnvironment

_OPERATORS = [("||", " or "), ("&&", " and ")]
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


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
    for inner in _EXPRESSION.findall(text):
        if (found := _simple_expression_reads(inner)) is None:
            return None
        reads |= found
    outside = _EXPRESSION.sub("", text)
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


def _render_failures() -> tuple[type[Exception], ...]:
    import jinja2

    return (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
            AttributeError)


@lru_cache(maxsize=4096)
def _compiled_expression(code: str) -> Callable[..., Any]:
    from jinja2 import TemplateSyntaxError

    try:
        return environment().compile_expression(to_jinja_expression(code), undefined_to_none=True)
    except TemplateSyntaxError as error:
        raise RenderError(error.message or "invalid template") from None


@lru_cache(maxsize=4096)
def _compiled_template(text: str) -> jinja2.Template:
    from jinja2 import TemplateSyntaxError

    try:
        return environment().from_string(to_jinja(text))
    except TemplateSyntaxError as error:
        raise RenderError(error.message or "invalid template") from None


def _whole_expression(text: str) -> str | None:
    """The code of a text that is exactly one `{{ … }}` (its value keeps its type)."""
    found = _EXPRESSION.fullmatch(text.strip())
    return found.group(1) if found and "{{" not in found.group(1) else None


def _native(value: Any) -> Any:
    if isinstance(value, types.GeneratorType | map | filter):
        return list(value)
    return value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template in `value` (strings inside dicts and lists too).

    A string that is exactly one `{{ expr }}` becomes the expression's value with its own type
    (a boolean, a number, a mapping); other strings render to text. The limits of one
    rendering (steps, sizes) apply to the whole `value`; past one, RenderError.
    """
    from flexor_iac.language.limits import LimitExceeded
    from flexor_iac.language.sandbox import Evaluation

    _compile(value)  # compiling is not the template's work: outside its budget
    try:
        with Evaluation():
            return _render(value, context)
    except LimitExceeded as error:
        raise RenderError(str(error)) from None


def _compile(value: Any) -> None:
    """Compile (once: they are cached) the templates in `value`."""
    if isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            _compile(item)
    elif is_template(value):
        if (code := _whole_expression(value)) is not None:
            _compiled_expression(code)
        else:
            _compiled_template(value)


def _render(value: Any, context: Mapping[str, Any]) -> Any:
    from flexor_iac.language.sandbox import STEPS, StepsExhausted, built, rendered_text

    if isinstance(value, dict):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context) for item in value]
    if not is_template(value):
        return value
    try:
        if (code := _whole_expression(value)) is not None:
            return built(_native(_compiled_expression(code)(**context)))
        return rendered_text(_compiled_template(value).generate(**context))
    except RenderError:
        raise
    except StepsExhausted:
        raise RenderError(f"{value.strip()}: {STEPS}") from None
    except RecursionError:
        raise RenderError(f"{value.strip()}: recursion too deep (a macro calling itself?)") \
            from None
    except MemoryError:
        raise RenderError(f"{value.strip()}: out of memory") from None
    except _render_failures() as error:
        raise RenderError(f"{value.strip()}: {error}") from None


def names_read(expression: str) -> set[str]:
    """The top-level names an expression reads (the values that drive a decision)."""
    from jinja2 import meta

    try:
        return set(meta.find_undeclared_variables(parse(expression)))
    except TemplateError:
        return set()
