"""Jinja's immutable sandbox, and the checks on what a rendering produces.

The sandbox decides what a template may touch: no unsafe attributes, and no changing the values
it is given (no `append`). What a rendering produces is checked before it leaves: text of at
most MAX_TEXT (refused as it grows), values of at most MAX_VALUE measured as JSON, nested at
most MAX_NESTING deep, integers of at most MAX_INT_BITS: a run record stays bounded.

How much memory and time a rendering may spend in between is not estimated here: the render
pool's workers are held to a memory cap and a time limit by the operating system
(language/render_pool.py, docs/decisions/017-render-backstop.md).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from flexor_iac.language.limits import (
    MAX_INT_BITS,
    MAX_TEXT,
    MAX_VALUE,
    RENDER_MEMORY,
    LimitExceeded,
    measure,
    size_words,
)
from flexor_iac.language.templates import (
    EXPRESSION,
    RenderError,
    environment,
    is_template,
    to_jinja,
    to_jinja_expression,
)


def _refuse(limit: int, kind: str) -> LimitExceeded:
    return LimitExceeded(f"the result is over {size_words(limit)} of {kind} (a template's limit)")


def checked(value: Any) -> Any:
    """A rendering's value, refused when it is too big to keep."""
    if isinstance(value, str | bytes):
        if len(value) > MAX_TEXT:
            raise _refuse(MAX_TEXT, "text")
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded(f"the result is an integer over {MAX_INT_BITS} bits "
                            "(a template's limit)")
    elif isinstance(value, Mapping | list | tuple | set | frozenset) \
            and measure(value, MAX_VALUE) > MAX_VALUE:
        raise _refuse(MAX_VALUE, "data")
    return value


def rendered_text(chunks: Iterable[str]) -> str:
    """A template's text, refused as soon as it grows past MAX_TEXT."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_TEXT:
            raise _refuse(MAX_TEXT, "text")
        parts.append(chunk)
    return "".join(parts)


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The environment every Flexor template is parsed and rendered with."""

    def __init__(self) -> None:
        super().__init__(autoescape=False, keep_trailing_newline=True)
        self.globals.pop("lipsum", None)  # generates text by the paragraph: not needed here


# --- rendering in this process (a render pool worker, or InProcess) ----------------------------

_FAILURES = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError)


@lru_cache(maxsize=4096)
def _compiled_expression(code: str) -> Callable[..., Any]:
    try:
        return environment().compile_expression(to_jinja_expression(code), undefined_to_none=True)
    except TemplateSyntaxError as error:
        raise RenderError(error.message or "invalid template") from None


@lru_cache(maxsize=4096)
def _compiled_template(text: str) -> Template:
    try:
        return environment().from_string(to_jinja(text))
    except TemplateSyntaxError as error:
        raise RenderError(error.message or "invalid template") from None


def _whole_expression(text: str) -> str | None:
    """The code of a text that is exactly one `{{ … }}` (its value keeps its type)."""
    found = EXPRESSION.fullmatch(text.strip())
    return found.group(1) if found and "{{" not in found.group(1) else None


def _native(value: Any) -> Any:
    """A value as it may leave a rendering: iterators as lists, a namespace as a mapping."""
    if isinstance(value, types.GeneratorType | map | filter):
        return list(value)
    if isinstance(value, Namespace):
        return dict(object.__getattribute__(value, "_Namespace__attrs"))
    return value


def evaluate(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template in `value` (strings inside dicts and lists too), here.

    A string that is exactly one `{{ expr }}` becomes the expression's value with its own type
    (a boolean, a number, a mapping); other strings render to text. A value too big to keep,
    or a template that fails, is a RenderError. (The runtime renders through
    language/render_pool.py, which runs this in a worker process.)
    """
    if isinstance(value, dict):
        return {key: evaluate(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate(item, context) for item in value]
    if not is_template(value):
        return value
    try:
        if (code := _whole_expression(value)) is not None:
            return checked(_native(_compiled_expression(code)(**context)))
        return rendered_text(_compiled_template(value).generate(**context))
    except RenderError:
        raise
    except RecursionError:
        raise RenderError(f"{value.strip()}: recursion too deep (a macro calling itself?)") \
            from None
    except MemoryError:
        raise RenderError(f"{value.strip()}: out of memory (a template may use "
                          f"{size_words(RENDER_MEMORY)})") from None
    except (LimitExceeded, *_FAILURES) as error:
        raise RenderError(f"{value.strip()}: {error}") from None
