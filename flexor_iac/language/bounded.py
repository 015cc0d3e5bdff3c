"""Templates whose cost is bounded by what they are given: rendered in process, no worker.

A template is *bounded* when its parse tree holds only output (text and `{{ … }}`, no `{% %}`
block: no loop, assignment, macro or call) and each expression is built from an allow-list:
names and their attributes and items, literals, `not and or`, comparisons (`== != < <= > >=
in`), `+ - / //`, unary `- +`, `~`, `x if c else y`, `now()`, tests without arguments
(`is defined`) and a few filters whose output is at most a constant times their input (`lower`,
`length`, `default(…)`, …; `round`/`int`/`float` with small literal arguments only). Left out
are exactly the operators whose result can outgrow their operands by a factor the template
chooses: `*` (`'a' * 10**9`), `**`, `%` (`'%999999999d' % 1`), slices, calls, list and dict
literals, and every other filter (`replace`, `join`, `indent`, `center`, `batch`, …).

Without loops, an expression's operations are at most its nodes (MAX_NODES), and each one's
result is at most the sum of its operands (a comparison's or a test's is a boolean; `/ //` on
numbers a number). So a rendering holds at most MAX_NODES times what it reads, and spends time in
proportion. The caller bounds what it reads: a rendering runs in process only when the values
its names load measure at most MAX_READ as JSON (render_pool.render); else a worker renders it
(docs/decisions/024-bounded-templates-in-process.md). Constant folding at compile time is
bounded too: it folds the same operators, over literals of the template's own text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from flexor_iac.language.limits import LimitExceeded, measure
from flexor_iac.language.templates import TemplateError, names_read_by, parse

if TYPE_CHECKING:
    from jinja2 import nodes

MAX_NODES = 200  # parse tree nodes of one template text
MAX_TEXT = 4096  # characters of one template text
MAX_READ = 64 * 1024  # characters, as JSON, of the values a rendering in process may read
SMALL_NUMBER = 100  # literal arguments of round/int/float (round(x, 10**9) scales by 10**10**9)

# Filters whose output is at most a constant times their input.
_FILTERS = frozenset({"lower", "upper", "trim", "title", "capitalize", "length", "count",
                      "string", "abs", "first", "last", "tojson", "int", "float", "round",
                      "default", "d"})
_NUMERIC_ARGUMENTS = frozenset({"int", "float", "round"})  # only small literals
_TESTS = frozenset({"defined", "undefined", "none", "number", "string", "mapping", "sequence",
                    "boolean", "true", "false", "integer", "float", "even", "odd", "lower",
                    "upper"})
_COMPARISONS = frozenset({"eq", "ne", "gt", "gteq", "lt", "lteq", "in", "notin"})


def _leaf_and_operator_types() -> tuple[type[nodes.Node], ...]:
    from jinja2 import nodes

    return (nodes.Name, nodes.Const, nodes.Getattr, nodes.Getitem, nodes.Not, nodes.Neg,
            nodes.Pos, nodes.And, nodes.Or, nodes.Add, nodes.Sub, nodes.Div, nodes.FloorDiv,
            nodes.Concat, nodes.CondExpr, nodes.Compare, nodes.Operand)


def _small_literal(node: nodes.Node) -> bool:
    from jinja2 import nodes

    if not isinstance(node, nodes.Const):
        return False
    value = node.value
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return abs(value) <= SMALL_NUMBER
    return isinstance(value, str) and len(value) <= SMALL_NUMBER


def _allowed(node: nodes.Node) -> bool:
    """Whether `node` (an expression, or a node of one) is in the allow-list."""
    from jinja2 import nodes

    if isinstance(node, nodes.Filter):
        if node.name not in _FILTERS or node.dyn_args is not None or \
                node.dyn_kwargs is not None:
            return False
        arguments = [*node.args, *(pair.value for pair in node.kwargs)]
        if node.name in _NUMERIC_ARGUMENTS:
            return all(_small_literal(argument) for argument in arguments)
        return not arguments or node.name in {"default", "d"}
    if isinstance(node, nodes.Test):
        return node.name in _TESTS and not node.args and not node.kwargs \
            and node.dyn_args is None and node.dyn_kwargs is None
    if isinstance(node, nodes.Call):  # now(), nothing else
        return isinstance(node.node, nodes.Name) and node.node.name == "now" \
            and not node.args and not node.kwargs \
            and node.dyn_args is None and node.dyn_kwargs is None
    if isinstance(node, nodes.Operand):
        return node.op in _COMPARISONS
    if isinstance(node, nodes.Name):
        return node.ctx == "load"
    return isinstance(node, _leaf_and_operator_types())


@lru_cache(maxsize=65536)
def is_bounded(text: str) -> bool:
    """Whether a template's cost is bounded by what it reads (see the module's text)."""
    from jinja2 import nodes

    if len(text) > MAX_TEXT:
        return False
    try:
        tree = parse(text)
    except TemplateError:
        return False  # rendering it fails the same way wherever it runs
    count = 0
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return False
        for node in statement.find_all(nodes.Node):
            count += 1
            if count > MAX_NODES:
                return False
            if not isinstance(node, nodes.TemplateData) and not _allowed(node):
                return False
    return True


def reads_little(value: Any, context: Mapping[str, Any]) -> bool:
    """Whether the values the templates in `value` read measure at most MAX_READ together (a
    callable, `now`, is called for its value: not counted)."""
    left = MAX_READ
    for name in names_read_by(value):
        item = context.get(name)
        if callable(item):
            continue
        try:
            left -= measure(item, left)
        except LimitExceeded:  # nested too deep: a worker measures it
            return False
        if left < 0:
            return False
    return True
