"""Flexor templates on Jinja: operators, syntax errors, env reads, the plain-reference path."""

from __future__ import annotations

import pytest

from flexor_iac.runtime.templates import environment, facts, to_jinja


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
    from flexor_iac.runtime.templates import TemplateError, env_reads, parse

    try:
        parsed = env_reads(parse(text))
        expected: tuple[str | None, frozenset[str]] = (None, frozenset(parsed))
    except TemplateError as error:
        expected = (str(error), frozenset())
    assert (facts(text).error, facts(text).env_reads) == expected


# --- rendering ----------------------------------------------------------------------------------

def test_a_whole_expression_keeps_its_type_and_text_renders_to_text() -> None:
    from flexor_iac.runtime.templates import render

    context = {"result": {"is_fresh": False, "staleness_minutes": 45}, "n": 3}
    assert render("{{ !result.is_fresh }}", context) is True
    assert render("{{ n > 1 && !result.is_fresh }}", context) is True
    assert render("{{ result }}", context) == context["result"]
    assert render({"m": ["{{ n }} min", 7]}, context) == {"m": ["3 min", 7]}


def test_render_errors_name_the_template_and_the_problem() -> None:
    import pytest

    from flexor_iac.runtime.templates import RenderError, render

    with pytest.raises(RenderError, match=r"\{\{ x.y \}\}: 'x' is undefined"):
        render("{{ x.y }}", {})
    with pytest.raises(RenderError, match=r"unsafe|not safely|access to attribute"):
        render("{{ n.__class__.__mro__ }}", {"n": 1})
