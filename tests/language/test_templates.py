"""Flexor templates on Jinja: operators, syntax errors, env reads, the plain-reference path."""

from __future__ import annotations

import pytest

from flexor_iac.language.templates import environment, facts, to_jinja


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


# --- rendering ----------------------------------------------------------------------------------

def test_a_whole_expression_keeps_its_type_and_text_renders_to_text() -> None:
    from flexor_iac.language.templates import render

    context = {"result": {"is_fresh": False, "staleness_minutes": 45}, "n": 3}
    assert render("{{ !result.is_fresh }}", context) is True
    assert render("{{ n > 1 && !result.is_fresh }}", context) is True
    assert render("{{ result }}", context) == context["result"]
    assert render({"m": ["{{ n }} min", 7]}, context) == {"m": ["3 min", 7]}


def test_render_errors_name_the_template_and_the_problem() -> None:
    import pytest

    from flexor_iac.language.templates import RenderError, render

    with pytest.raises(RenderError, match=r"\{\{ x.y \}\}: 'x' is undefined"):
        render("{{ x.y }}", {})
    with pytest.raises(RenderError, match=r"unsafe|not safely|access to attribute"):
        render("{{ n.__class__.__mro__ }}", {"n": 1})


# --- limits (what one evaluation may build and spend) -------------------------------------------

def _render_error(text: str, context: dict[str, object] | None = None) -> str:
    from flexor_iac.language.templates import RenderError, render

    with pytest.raises(RenderError) as caught:
        render(text, context or {})
    return str(caught.value)


@pytest.mark.parametrize(("text", "context"), [
    ("{{ 7**9999999 }}", {}),
    ("{{ n ** m }}", {"n": 7, "m": 9999999}),        # not folded at compile time
    ("{{ (n ** 3000) * (n ** 3000) }}", {"n": 7}),   # a product over the limit
])
def test_huge_powers_fail_at_once_without_being_computed(
        text: str, context: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    table = environment().binop_table  # the operations templates' operators compute with
    power, computed = table["**"], []

    def recording(left: object, right: object) -> object:
        computed.append((left, right))
        return power(left, right)
    monkeypatch.setitem(table, "**", recording)
    message = _render_error(text, context)
    assert "4096 bits" in message
    assert computed == []  # refused before any power was computed


@pytest.mark.parametrize(("text", "context"), [
    ("{{ 'x' * 10**8 }}", {}),                                   # the 100 MB value
    ("{{ 'x' * n }}", {"n": 2**20 + 1}),
    ("text {{ 'x' * 2**21 }}", {}),
    ("{{ 'x'|center(10**8) }}", {}),
    ("{{ 'x'.ljust(10**8) }}", {}),
    ("{{ s.replace('', s) }}", {"s": "y" * 2000}),
    ("{{ '%100000000d' % 1 }}", {}),
    ("{{ '{:>100000000}'.format(1) }}", {}),
    ("{% set ns = namespace(s='x') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}{{ ns.s|length }}", {}),                      # doubling with ~
    ("{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}", {}),  # 2 MB of output
    ("{{ range(100)|map('center', 20000)|join }}", {}),          # built one piece at a time
])
def test_text_over_1_mib_is_refused_before_it_is_built(
        text: str, context: dict[str, object]) -> None:
    assert "1 MiB" in _render_error(text, context)


@pytest.mark.parametrize("text", [
    "{{ ['x' * 100] * 10**6 }}",
    "{{ range(100)|map('center', 200000)|list|length }}",      # 20 MB built in small pieces
    # A list that repeats one value: small in memory, 16 MB once written out.
    "{% set a = ['x' * 1000] * 1000 %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}"
    "{{ c }}",
    "{% set a = ['x' * 1000] * 1000 %}{% set b = [a, a, a, a] %}{{ [b, b, b, b] }}",
    "{% set a = ['x' * 1000] * 1000 %}{% set b = [a, a, a, a] %}{{ [b, b, b, b]|tojson }}",
])
def test_values_over_the_size_limit_are_refused(text: str) -> None:
    assert "MiB" in _render_error(text)


def test_a_recursive_macro_is_a_template_error() -> None:
    message = _render_error("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}")
    assert "recursion" in message


@pytest.mark.engine
def test_an_endless_loop_stops_at_the_step_budget() -> None:
    # Without a budget this loop runs for many minutes: it runs in a child process with a timeout.
    import subprocess
    import sys

    code = ("from flexor_iac.language.templates import RenderError, render\n"
            "try:\n"
            "    render('{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}"
            "{% endfor %}{{ 1 }}', {})\n"
            "except RenderError as error:\n"
            "    print(error)\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("a 10^10-step loop was still running after 30 s")
    assert "steps" in done.stdout, done.stderr


def test_templates_may_not_change_the_values_they_are_given() -> None:
    values = [1, 2]
    _render_error("{{ values.append(3) }}", {"values": values})
    assert values == [1, 2]


def test_ordinary_templates_still_render() -> None:
    from flexor_iac.language.templates import render

    rows = [{"instrument": f"I{n}", "quantity": n} for n in range(10000)]
    assert render("{{ rows|selectattr('quantity', '>', 9000)|list|length }}",
                  {"rows": rows}) == 999
    assert render("{{ rows }}", {"rows": rows}) is rows
    assert render("{{ 2 ** 64 }} {{ 'ab' * 3 }} {{ '%05.1f' % 3.14159 }}", {}) == \
        "18446744073709551616 ababab 003.1"
    assert render("{{ '-'.join(['a', 'b']) ~ '{:>4}'.format(7) }}", {}) == "a-b   7"
