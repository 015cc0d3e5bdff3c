"""Ways around a template's limits that a review found: each must end as a failed run.

Text built by Jinja's own joins (set blocks, macros, filter blocks, caller()), `%` and format
fields that repeat one argument, work that is not a traced line (measuring values) and a
rendering that runs past the attempt's deadline.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.runtime.executor import Executor, RunRequest
from tests.helpers.project import write_agent
from tests.helpers.runtime import Ticking, install, run

STAGING = Environment.STAGING


def run_template(project: Path, template: str) -> RunRecord:
    """Run an agent whose one task logs an event rendered from `template`."""
    write_agent(project, "probe", "  - skill: core.audit.log\n    args:\n"
                f"      event: \"{template}\"\n")
    record, _store = run(project, "probe")
    return record


def run_traced(project: Path, template: str) -> tuple[RunRecord, int]:
    """`run_template`, and the most memory the run held at once (installing not counted)."""
    write_agent(project, "probe", "  - skill: core.audit.log\n    args:\n"
                f"      event: \"{template}\"\n")
    executor = Executor(ProjectPaths(project), install(project, STAGING), environ={},
                        sleep=lambda _s: None)
    tracemalloc.start()
    try:
        record = executor.run(RunRequest(STAGING, "probe"))
        return record, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


OVER_TEXT = "over 1 MiB of text"
SMALL = 16 * 1024 * 1024  # what a refused run may hold: the 40-64 MB texts are never built

# --- 1. text joined by Jinja itself (environment.concat) ---------------------------------------

S = "{% set s = 'x' * 1000000 %}"
FORTY = "{% for i in range(40) %}{{ s }}{% endfor %}"  # 40 MB, in pieces of 1 MB


@pytest.mark.parametrize("template", [
    S + "{% set t %}" + FORTY + "{% endset %}{{ t|length }}",                  # a set block
    "{% set s = 'x' * 300000 %}{% set a %}{{ s }}{{ s }}{{ s }}{% endset %}"
    "{% set b %}{% for i in range(40) %}{{ a }}{% endfor %}{% endset %}"
    "{{ b|length }}",                                                          # nested sets
    S + "{% macro m(s) %}" + FORTY + "{% endmacro %}{{ m(s)|length }}",       # a macro
    S + "{% filter trim %}" + FORTY + "{% endfilter %}",                      # a filter block
    S + "{% macro w() %}{{ caller()|length }}{% endmacro %}"
        "{% call w() %}" + FORTY + "{% endcall %}",                            # caller()
    S + "{% set t %}{% for i in range(40) %}{{ s[i:] }}{% endfor %}{% endset %}"
        "{{ t|length }}",                                        # 40 new strings of 1 MB
])
def test_text_joined_by_blocks_and_macros_is_held_to_the_text_limit(
        project: Path, template: str) -> None:
    record, peak = run_traced(project, template)
    assert record.status == "failed", record.outputs
    assert OVER_TEXT in record.errors[0]
    assert peak < SMALL, f"{peak:,} bytes held"


# --- 2. format fields that repeat one argument --------------------------------------------------

@pytest.mark.parametrize("template", [
    S + "{{ (('%(a)s' * 64) % {'a': s})|length }}",          # % with a mapping
    S + "{{ ('{0}' * 64).format(s)|length }}",                # str.format, a numbered field
    S + "{{ ('{a}' * 64).format_map({'a': s})|length }}",     # format_map
    S + "{{ (('%(a)s' * 64)|format(a=s))|length }}",         # the format filter
])
def test_format_fields_repeating_one_argument_are_refused_before_building(
        project: Path, template: str) -> None:
    record, peak = run_traced(project, template)
    assert record.status == "failed" and OVER_TEXT in record.errors[0]
    assert peak < SMALL, f"{peak:,} bytes held"


def test_formats_within_the_limit_still_render() -> None:
    from flexor_iac.language.templates import render

    half = {"s": "y" * 600_000}  # 600 KB: once fits in 1 MiB, twice does not
    assert len(render("{{ '%(s)s and %%' % {'s': s} }}", half)) == 600_006
    assert len(render("{{ '%s, %s' % (s, 'z') }}", half)) == 600_003
    assert len(render("{{ '{0}/{1}'.format(s, 'z') }}", half)) == 600_002
    assert len(render("{{ '{x}'.format_map({'x': s}) }}", half)) == 600_000
    assert len(render("{{ '%(k)s'|format(k=s) }}", half)) == 600_000
    assert render("{{ '%(a)s-%(a)s' % {'a': 1} }} {{ '{0}{0}{k}'.format(7, k='z') }}", {}) \
        == "1-1 77z"


# --- 3. time: measuring values costs steps; the deadline is checked while rendering ------------

def test_measuring_values_is_charged_to_the_step_budget(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flexor_iac.language import sandbox

    # A budget of 100,000 steps keeps the test fast: `batch` measures its fill value (300,000
    # items) in a few traced lines, and builds almost nothing.
    monkeypatch.setattr(sandbox, "MAX_STEPS", 100_000)
    record = run_template(project, "{% set a = ['x'] * 300000 %}"
                                   "{{ [1]|batch(1, a)|list|length }}")
    assert record.status == "failed", record.outputs
    assert "steps (a template's limit)" in record.errors[0]


def test_a_rendering_stops_at_the_deadline_and_the_timeout_is_not_tolerated(
        project: Path) -> None:
    # 100,000 steps: within the step budget, but each 1,000 read a clock that moves 1 s.
    write_agent(project, "probe", "  - skill: core.audit.log\n    args:\n"
                "      event: \"{% for i in range(20000) %}{% endfor %}{{ 1 }}\"\n"
                "    optional: true\n", retry="timeout_seconds: 15\n")
    store = install(project, STAGING)
    record = Executor(ProjectPaths(project), store, environ={}, sleep=lambda _s: None,
                      monotonic=Ticking(1)).run(RunRequest(STAGING, "probe"))
    assert (record.status, record.outputs["audit_log"]) == ("failed", [])
    assert "timed out" in record.errors[0]
    assert "the attempt ran past its timeout_seconds (15 s)" in record.errors[0]
