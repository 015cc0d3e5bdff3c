"""The template bomb corpus: templates that would build or spend without bound. Each fails
cleanly within one rendering's limits, in a run as a failed attempt with a one-line reason,
and the next rendering works.

Which limit stops one is not asserted, only that a limit did: the checks on what a rendering
produces, the worker's memory cap or its time limit (language/render_pool.py). The first part
of the corpus was stopped by size estimates and a step count before the backstop; the last
part got past them (docs/decisions/017-render-backstop.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.language import render_pool
from flexor_iac.language.render_pool import ProcessPoolBackend, RenderError, render
from tests.helpers.project import write_agent
from tests.helpers.runtime import run

pytestmark = pytest.mark.engine  # rendered in the pool's worker processes

# What a limit says (language/sandbox.py, language/render_pool.py); Python's own limit on
# turning a huge integer into text counts too.
A_LIMIT = re.compile(r"over 1 MiB of text|over 16 MiB of data|integer over 4096 bits"
                     r"|out of memory|ran longer than 1 s|Exceeds the limit .* for integer"
                     r"|recursion too deep|nests deeper|worker process ended")
S = "{% set s = 'x' * 1000000 %}"
MANY = "{% for i in range(4000) %}{{ s }}{% endfor %}"  # 4 GB, in pieces of 1 MB
# Slices of one text kept in a chain of lists: nothing measured, 100 GB held.
CHAIN = (S + "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}"
             "{% set ns.x = [ns.x, s[i:]] %}{% endfor %}{{ 1 }}")
# 10^10 comparisons inside one C call per item: minutes of CPU in 100,000 steps.
COMPARISONS = "{{ range(100000)|map('string')|select('in', range(100000)|list)|list|length }}"
SET_BLOCK = S + "{% set t %}" + MANY + "{% endset %}{{ t|length }}"
FORMAT = S + "{{ ('{0}' * 6400).format(s)|length }}"
BOMBS = [
    # numbers and text built in one operation
    "{{ 7**9999999 }}",
    "{{ (7 ** 3000) * (7 ** 3000) }}",
    "{{ 'x' * 10**8 }}",
    "text {{ 'x' * 2**21 }}",
    "{{ 'x'|center(10**8) }}",
    "{{ 'x'.ljust(10**8) }}",
    "{% set s = 'y' * 2000 %}{{ s.replace('', s) }}",
    "{{ '%100000000d' % 1 }}",
    "{{ '{:>100000000}'.format(1) }}",
    # built a piece at a time
    "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{{ range(100)|map('center', 20000)|join }}",
    "{{ ['x' * 100] * 10**6 }}",
    "{{ range(10000)|map('center', 200000)|list|length }}",
    "{% set a = ['x' * 1000] * 1000 %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}"
    "{{ c }}",
    "{% set a = ['x' * 1000] * 1000 %}{% set b = [a, a, a, a] %}{{ [b, b, b, b]|tojson }}",
    # text joined by Jinja itself: set blocks, macros, filter blocks, caller()
    SET_BLOCK,
    "{% set s = 'x' * 300000 %}{% set a %}{{ s }}{{ s }}{{ s }}{% endset %}"
    "{% set b %}{% for i in range(4000) %}{{ a }}{% endfor %}{% endset %}{{ b|length }}",
    S + "{% macro m(s) %}" + MANY + "{% endmacro %}{{ m(s)|length }}",
    S + "{% filter trim %}" + MANY + "{% endfilter %}",
    S + "{% macro w() %}{{ caller()|length }}{% endmacro %}{% call w() %}" + MANY
    + "{% endcall %}",
    # format fields that repeat one argument
    S + "{{ (('%(a)s' * 6400) % {'a': s})|length }}",
    FORMAT,
    S + "{{ ('{a}' * 6400).format_map({'a': s})|length }}",
    S + "{{ (('%(a)s' * 6400)|format(a=s))|length }}",
    # time: loops of 10^10 steps, a macro calling itself
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}{{ 1 }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    # --- past the size estimates and the step count: stopped by the backstop alone ---
    CHAIN,
    COMPARISONS,
]


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolBackend]:
    """A pool of its own for the corpus, 1 s per rendering."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render_pool, "RENDER_SECONDS", 1.0)
        backend = ProcessPoolBackend(workers=2)
        last = render_pool.use(backend)
        yield backend
        render_pool.use(last)
        backend.stop()


@pytest.mark.parametrize("template", BOMBS)
def test_a_bomb_fails_cleanly_within_a_limit(pool: ProcessPoolBackend, template: str) -> None:
    with pytest.raises(RenderError) as caught:
        render(template, {})
    reason = str(caught.value)
    assert A_LIMIT.search(reason) and "\n" not in reason, reason  # stopped by a limit
    assert render("{{ n * 2 }}", {"n": 1}) == 2  # and the worker replaced


@pytest.mark.parametrize("template", [CHAIN, COMPARISONS, SET_BLOCK, FORMAT])
def test_a_bomb_in_a_run_is_a_failed_attempt(
        project: Path, pool: ProcessPoolBackend, template: str) -> None:
    write_agent(project, "probe", "  - skill: core.audit.log\n    args:\n"
                f"      event: \"{template}\"\n")
    record, _store = run(project, "probe")
    assert record.status == "failed", record.outputs
    assert record.errors[0].startswith("attempt 1: task 1 (core.audit.log): template ")
    assert A_LIMIT.search(record.errors[0]) and "\n" not in record.errors[0]


def test_formats_within_the_limit_still_render(pool: ProcessPoolBackend) -> None:
    half = {"s": "y" * 600_000}  # 600 KB: once fits in 1 MiB, twice does not
    assert len(render("{{ '%(s)s and %%' % {'s': s} }}", half)) == 600_006
    assert len(render("{{ '%s, %s' % (s, 'z') }}", half)) == 600_003
    assert len(render("{{ '{0}/{1}'.format(s, 'z') }}", half)) == 600_002
    assert len(render("{{ '{x}'.format_map({'x': s}) }}", half)) == 600_000
    assert len(render("{{ '%(k)s'|format(k=s) }}", half)) == 600_000
    assert render("{{ '%(a)s-%(a)s' % {'a': 1} }} {{ '{0}{0}{k}'.format(7, k='z') }}", {}) \
        == "1-1 77z"
