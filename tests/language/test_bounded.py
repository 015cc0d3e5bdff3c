"""Templates whose cost is bounded by what they read render in process; the rest, and bounded
ones reading much, go to a worker (language/bounded.py, language/render_pool.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from flexor_iac.language import render_pool
from flexor_iac.language.bounded import MAX_READ, is_bounded
from flexor_iac.language.render_pool import InProcess, RenderError, needs_worker, render
from tests.helpers.bombs import BOMBS


class Recording(InProcess):
    """A backend that renders as InProcess does and remembers what it was given."""

    def __init__(self) -> None:
        self.given: list[Any] = []

    def render(self, value: Any, context: Mapping[str, Any], seconds: float) -> Any:
        self.given.append(value)
        return super().render(value, context, seconds)


@pytest.fixture
def worker() -> Iterator[Recording]:
    backend = Recording()
    last = render_pool.use(backend)
    yield backend
    render_pool.use(last)


BOUNDED = [
    "{{ inputs.n + 1 }}", "n+1={{ inputs.n + 1 }} at {{ now() }}",
    "{{ inputs.n < 100 && !stale }}", "{{ a ~ '/' ~ b }}", "{{ x|default('none')|upper }}",
    "{{ x is defined }}", "{{ 'up' if ok else 'down' }}", "{{ items|length > 3 }}",
    "{{ a[0] }}", "{{ a['k'].v }}", "{{ price / 100 }} {{ -n // 7 }}", "{{ x|round(2) }}",
    "{{ 'eu' in regions || a != b }}", "{# a note #}{{ a }}",
]
UNBOUNDED = [
    "{{ 'a' * 10**9 }}", "{{ a * n }}", "{{ 7 ** 9999999 }}", "{{ '%999999999d' % 1 }}",
    "{{ s.replace('', s) }}", "{{ s|replace('', s) }}", "{{ xs|join(s) }}", "{{ range(10) }}",
    "{{ [a, a] }}", "{{ {'a': a} }}", "{{ s[1:] }}", "{{ x|round(10**9) }}",
    "{{ x|round(1000, 'ceil') }}", "{{ s|indent(1000) }}", "{{ s|center(1000) }}",
    "{{ lipsum() }}", "{{ x|int(0, base) }}", "{{ x|round(precision=2) }}",
    "{% if a %}{{ a }}{% endif %}", "{% set b = a %}{{ b }}", "{{ a is divisibleby(3) }}",
    "{{ now(a) }}", "{{ a.b() }}", "{{ a + }}", "{{ " + " + ".join(["a"] * 120) + " }}",
]


@pytest.mark.parametrize("text", BOUNDED)
def test_a_bounded_template_needs_no_worker(text: str) -> None:
    assert is_bounded(text) and not needs_worker(text)


@pytest.mark.parametrize("text", UNBOUNDED)
def test_a_template_that_can_outgrow_its_input_needs_a_worker(text: str) -> None:
    assert not is_bounded(text) and needs_worker(text)


@pytest.mark.parametrize("text", BOMBS)
def test_no_bomb_of_the_corpus_is_bounded(text: str) -> None:
    assert needs_worker(text)


def test_a_bounded_template_reading_little_renders_here(worker: Recording) -> None:
    context = {"inputs": {"n": 41}, "now": lambda: datetime(2026, 12, 4, tzinfo=UTC)}
    assert render("n+1={{ inputs.n + 1 }} at {{ now() }}", context) \
        == "n+1=42 at 2026-12-04 00:00:00+00:00"
    assert render({"ok": "{{ inputs.n > 40 }}", "plain": 3}, context) == {"ok": True, "plain": 3}
    assert worker.given == []


def test_a_bounded_template_reading_much_goes_to_a_worker(worker: Recording) -> None:
    big = {"inputs": {"text": "x" * MAX_READ}}
    assert render("{{ inputs.text|length + 1 }}", big) == MAX_READ + 1
    deep: dict[str, Any] = {}
    for _ in range(150):  # deeper than a value may nest: a worker measures it
        deep = {"d": deep}
    assert render("{{ inputs.d is mapping }}", {"inputs": deep}) is True
    assert len(worker.given) == 2


def test_the_most_a_bounded_template_can_build_is_refused_as_text_too_long(
        worker: Recording) -> None:
    most = "{{ " + " ~ ".join(["s"] * 60) + " }}"  # 60 times what it reads: 3.6 MiB
    assert is_bounded(most)
    with pytest.raises(RenderError, match="over 1 MiB of text"):
        render(most, {"s": "y" * (MAX_READ - 10)})
    assert worker.given == []
