"""Jinja's sandbox with limits on what one rendering may build and how long it may run.

Jinja's sandbox stops unsafe attribute access; it bounds neither memory nor time. Here
(the numbers are in runtime/limits.py):

* `+ * % **` are intercepted and checked *before* they compute: `7**9999999` and
  `'x' * 10**8` are refused at once, never built.
* `~`, calls, filters and text output are checked too: the ones that can multiply a size
  (`center`, `indent`, `replace`, `join`, `format`, `expandtabs`, `batch`, …) before they run,
  everything after; all that one rendering builds counts against MAX_VALUE.
* Templates may not change the values they are given (the immutable sandbox: no `append`).
* Jinja's own joins (`environment.concat`: set blocks, macros, filter blocks, `caller()`) are
  checked as they join, like the text a template writes.
* Steps: while a rendering runs, its thread is traced (sys.settrace): each line of template
  code and each call is a step, so is each item `measure` visits, and past MAX_STEPS the
  rendering stops (a loop of 10^10, a macro recursing in breadth). Every CHECK_EVERY steps it
  looks at its attempt's deadline (limits.deadline_here): past it, the attempt has timed out
  (limits.TimedOut, which no `optional` or `on_error` tolerates). Python's recursion limit
  stops a macro that calls itself.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from inspect import signature
from types import FrameType, TracebackType
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flexor_iac.language.estimates import (
    FILTER_CHECKS,
    STRINGIFYING,
    at_most,
    check_operation,
    checked_call,
    text_size,
)
from flexor_iac.language.limits import (
    CHECK_EVERY,
    MAX_STEPS,
    MAX_VALUE,
    Deadline,
    LimitExceeded,
    TimedOut,
    deadline_here,
    measure,
    metered,
    size_words,
)

TEMPLATE_FILE = "<template>"  # the file name of code compiled from a template string
STEPS = f"ran more than {MAX_STEPS:,} steps (a template's limit)"
_state = threading.local()


class StepsExhausted(BaseException):
    """A rendering ran out of steps (a BaseException: template runtime code may catch others)."""


class OutOfTime(BaseException):
    """A rendering went past its attempt's deadline (made a limits.TimedOut by Evaluation)."""


class _Budget:
    """What one rendering may still spend: steps, and the size of what it builds."""

    def __init__(self, deadline: Deadline | None) -> None:
        self.steps = MAX_STEPS
        self.size = MAX_VALUE
        self.deadline = deadline
        self.out_of_time = False
        self.check = max(self.steps - CHECK_EVERY, 0)  # below it: `checkpoint`
        self.local = self._line

    def trace(self, frame: FrameType, _event: str, _arg: Any) -> Any:
        """Every call is a step; template code is traced line by line."""
        self.steps -= 1
        if self.steps < self.check:
            self.checkpoint()
        return self.local if frame.f_code.co_filename == TEMPLATE_FILE else None

    def _line(self, _frame: FrameType, _event: str, _arg: Any) -> Any:
        self.steps -= 1
        if self.steps < self.check:
            self.checkpoint()
        return self.local

    def charge(self, steps: int) -> None:
        """Work done outside template code (`measure` visiting items) costs steps too."""
        self.steps -= steps
        if self.steps < self.check:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Out of steps, or past the deadline: stop (and keep stopping whatever runs next)."""
        if self.steps < 0:
            raise StepsExhausted
        if self.out_of_time or (self.deadline is not None and self.deadline.passed()):
            self.out_of_time, self.check = True, MAX_STEPS + 1
            raise OutOfTime
        self.check = max(self.steps - CHECK_EVERY, 0)

    def spend(self, size: int) -> None:
        self.size -= size
        if self.size < 0:
            raise LimitExceeded(f"the template built more than {size_words(MAX_VALUE)} of "
                                "values (a template's limit)")


class Evaluation:
    """The budget of everything rendered inside `with Evaluation():` (in this thread)."""

    def __enter__(self) -> None:
        self.budget = _Budget(deadline_here())
        self.outer = sys.gettrace()
        self.outer_budget = getattr(_state, "budget", None)
        _state.budget = self.budget
        self.outer_meter = metered(self.budget)
        sys.settrace(self.budget.trace)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        sys.settrace(self.outer)
        metered(self.outer_meter)
        _state.budget = self.outer_budget
        if self.budget.out_of_time:  # whatever it became on its way out: the attempt timed out
            seconds = self.budget.deadline.seconds if self.budget.deadline else 0
            raise TimedOut("timed out while rendering a template", "the attempt ran past its "
                           f"timeout_seconds ({seconds:g} s)") from None
        if kind is None and self.budget.steps < 0:  # stopped, but something swallowed it
            raise LimitExceeded(STEPS)


def built(value: Any, *sources: Any) -> Any:
    """Check a value a template made and count it (a value it was given costs nothing)."""
    if any(value is source for source in sources):
        return value
    if isinstance(value, str | bytes):
        size = len(value)
    elif isinstance(value, Mapping | list | tuple | set | frozenset):
        size = measure(value, MAX_VALUE)
    else:
        return value
    at_most(size, value)
    if (budget := getattr(_state, "budget", None)) is not None:
        budget.spend(size)
    return value


def rendered_text(chunks: Iterable[str]) -> str:
    """A template's text, refused as soon as it grows past MAX_TEXT."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        at_most(size, chunk)
        parts.append(chunk)
    return str(built("".join(parts)))


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose input, arguments and result are checked (pass_context & co. kept)."""
    check = FILTER_CHECKS.get(name)
    bind = signature(function).bind if check else None
    first = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name in STRINGIFYING and len(args) > first:
            at_most(text_size(args[first]), "")
        if check is not None and bind is not None:
            bound = bind(*args, **kwargs)
            bound.apply_defaults()
            check(bound.arguments)
            args, kwargs = bound.args, bound.kwargs
        return built(function(*args, **kwargs), *args, *kwargs.values())
    return guarded


def _finalize(value: Any) -> Any:
    """What a `{{ … }}` in text writes: refused before it is turned into text if too big."""
    at_most(text_size(value), "")
    return value


class _BlockText(list):  # type: ignore[type-arg]
    """The buffer Jinja collects a set, macro, call or filter block's output in: refused as soon
    as it holds more than MAX_TEXT, not only when `concat` joins it at the block's end."""

    size = 0

    def append(self, item: Any) -> None:
        self._grow(text_size(item))
        super().append(item)

    def extend(self, items: Iterable[Any]) -> None:
        items = tuple(items)
        self._grow(sum(text_size(item) for item in items))
        super().extend(items)

    def _grow(self, size: int) -> None:
        self.size += size
        at_most(self.size, "")


class _CodeGenerator(CodeGenerator):
    """`a ~ b` goes through the environment, which checks the size before joining; block
    buffers are _BlockText."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.block_text()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_checked((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The environment every Flexor template is parsed and rendered with."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"+", "*", "%", "**"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, keep_trailing_newline=True, finalize=_finalize)
        self.globals.pop("lipsum", None)  # generates text by the paragraph: not needed here
        self.filters = {name: _guarded_filter(name, function)
                        for name, function in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """An intercepted operator: its result's size checked before it is computed."""
        check_operation(operator, left, right)
        return built(super().call_binop(context, operator, left, right), left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        """A call from a template: a method that would build too much is refused first."""
        args = checked_call(__obj, args, kwargs)
        owner = getattr(__obj, "__self__", None)
        return built(super().call(__context, __obj, *args, **kwargs), owner, *args,
                     *kwargs.values())

    @staticmethod
    def block_text() -> list[Any]:
        """A new block buffer (see _CodeGenerator.buffer)."""
        return _BlockText()

    def concat(self, parts: Iterable[str]) -> str:
        """Jinja's own joins (set blocks, macros, filter blocks, caller()), checked as they grow."""
        return rendered_text(parts)

    def concat_checked(self, parts: tuple[Any, ...]) -> str:
        """`a ~ b ~ …`, refused before joining when it would be too long."""
        at_most(sum(text_size(part) for part in parts), "")
        return str(built("".join(str(part) for part in parts)))
