"""Flexor templates on Jinja: operators, syntax errors, env reads, the plain-reference path."""

from __future__ import annotations

import re

import pytest

from flexor_iac.language.sandbox import evaluate
from flexor_iac.language.templates import (
    RenderError,
    environment,
    facts,
    is_reference,
    names_read,
    names_read_by,
    to_jinja,
)


@pytest.mark.parametrize(("flexor", "values", "rendered"), [
    ("{{ !a }}", {"a": True}, "False"),
    ("{{ a || b }}", {"a": False, "b": True}, "True"),
    ("{{ a && !b }}", {"a": True, "b": False}, "True"),
    ("{{ a != b }}", {"a": 1, "b": 2}, "True"),
    ("{{ 'x!y' ~ \"||\" }}", {}, "x!y||"),
])
def test_flexor_operators_map_onto_jinja(flexor: str, values: dict[str, object],
                                         rendered: str) -> None:
    assert environment().from_string(to_jinja(flexor)).render(**values) == rendered


def test_syntax_errors_are_reported_not_raised() -> None:
    assert facts("{{ result.is_fresh && }}").error == "unexpected 'end of print statement'"
    assert facts("{{ inputs.feed }}").error is None


@pytest.mark.parametrize(("text", "reads"), [
    ("{{ env.FUND_IDS }}", {"FUND_IDS"}),             # plain reference path
    ("{{ env.A ~ env['B'] }}", {"A", "B"}),            # parser path
    ("{{ inputs.env }}", set()),
    ("{{ environment.X }}", set()),
])
def test_env_reads(text: str, reads: set[str]) -> None:
    assert facts(text).env_reads == reads


def test_sandbox_blocks_unsafe_attribute_access() -> None:
    from jinja2.exceptions import SecurityError

    template = environment().from_string("{{ x.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        template.render(x=1)


@pytest.mark.parametrize("text", [
    "feed {{ result.staleness_minutes }} min stale, {{ env.REGION }}",   # plain path
    "{{ a }} {% if x %}",                                                 # block: parser path
    "{{ a }} }} b",
    "{{ a.b }} {{ a | }}",
    "{{ a }} {# c",
])
def test_plain_path_agrees_with_the_parser(text: str) -> None:
    from flexor_iac.language.templates import TemplateError, env_reads, parse

    try:
        parsed = env_reads(parse(text))
        expected: tuple[str | None, frozenset[str]] = (None, frozenset(parsed))
    except TemplateError as error:
        expected = (str(error), frozenset())
    assert (facts(text).error, facts(text).env_reads) == expected


# --- rendering (in this process: the sandbox and its checks; the pool: test_render_pool.py) ---

def test_a_whole_expression_keeps_its_type_and_text_renders_to_text() -> None:
    context = {"result": {"is_fresh": False, "staleness_minutes": 45}, "n": 3}
    assert evaluate("{{ !result.is_fresh }}", context) is True
    assert evaluate("{{ n > 1 && !result.is_fresh }}", context) is True
    assert evaluate("{{ result }}", context) == context["result"]
    assert evaluate({"m": ["{{ n }} min", 7]}, context) == {"m": ["3 min", 7]}
    assert evaluate("{{ namespace(a=n) }}", context) == {"a": 3}  # plain data leaves


def _render_error(text: str, context: dict[str, object] | None = None) -> str:
    with pytest.raises(RenderError) as caught:
        evaluate(text, context or {})
    return str(caught.value)


def test_render_errors_name_the_template_and_the_problem() -> None:
    assert _render_error("{{ x.y }}") == "{{ x.y }}: 'x' is undefined"
    assert re.search(r"unsafe|not safely|access to attribute",
                     _render_error("{{ n.__class__.__mro__ }}", {"n": 1}))


@pytest.mark.parametrize(("text", "limit"), [
    ("{{ 'x' * 2**21 }}", "over 1 MiB of text"),
    ("text {{ 'x' * 2**21 }}", "over 1 MiB of text"),
    ("{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}", "over 1 MiB of text"),
    ("{{ [b, b, b, b, b] }}", "over 16 MiB of data"),  # small in memory, 20 MB written out
    ("{{ 2 ** 5000 }}", "integer over 4096 bits"),
    ("{{ [deep] }}", "nests deeper than 100 levels"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "recursion too deep"),
])
def test_what_is_too_big_to_keep_is_refused(text: str, limit: str) -> None:
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    assert limit in _render_error(text, {"b": [["x" * 1000] * 1000] * 4, "deep": deep})


def test_templates_may_not_change_the_values_they_are_given() -> None:
    values = [1, 2]
    _render_error("{{ values.append(3) }}", {"values": values})
    assert values == [1, 2]


def test_ordinary_templates_still_render() -> None:
    rows = [{"instrument": f"I{n}", "quantity": n} for n in range(10000)]
    assert evaluate("{{ rows|selectattr('quantity', '>', 9000)|list|length }}",
                    {"rows": rows}) == 999
    assert evaluate("{{ rows }}", {"rows": rows}) is rows
    assert evaluate("{{ 2 ** 64 }} {{ 'ab' * 3 }} {{ '%05.1f' % 3.14159 }}", {}) == \
        "18446744073709551616 ababab 003.1"
    assert evaluate("{{ '-'.join(['a', 'b']) ~ '{:>4}'.format(7) }}", {}) == "a-b   7"


def test_the_names_a_template_reads_are_found_without_compiling_it() -> None:
    assert names_read_by({"a": "{{ x.y ~ env.Z }}", "b": ["{% for i in r %}{{ i }}{% endfor %}"],
                          "c": "plain"}) >= {"x", "env", "r"}
    assert names_read("{{ 7 ** 9999999 > n }}") == {"n"}  # at once: nothing is folded


@pytest.mark.parametrize(("text", "reference"), [
    ("{{ inputs.fund }}", True), ("{{ !result.is_fresh }}", True), ("at {{ now() }}", True),
    ("{{ not a.b }} and {{ c }}", True),
    ("{{ a + 1 }}", False), ("{{ a|length }}", False), ("{{ a.b() }}", False),
    ("{{ a[0] }}", False), ("{% if a %}{{ a }}{% endif %}", False), ("{{ a }} }}", False),
    ("{{ a == b }}", False),
])
def test_a_reference_only_reads(text: str, reference: bool) -> None:
    assert is_reference(text) is reference
