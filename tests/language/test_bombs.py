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
from tests.helpers.bombs import BOMBS, CHAIN, COMPARISONS, FORMAT, SET_BLOCK
from tests.helpers.project import write_agent
from tests.helpers.runtime import run

pytestmark = pytest.mark.engine  # rendered in the pool's worker processes

# What a limit says (language/sandbox.py, language/render_pool.py); Python's own limit on
# turning a huge integer into text counts too.
A_LIMIT = re.compile(r"over 1 MiB of text|over 16 MiB of data|integer over 4096 bits"
                     r"|out of memory|ran longer than 1 s|Exceeds the limit .* for integer"
                     r"|recursion too deep|nests deeper|worker process ended")
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
