"""The template bomb corpus: templates that would build or spend without bound
(tests/language/test_bombs.py renders each; tests/language/test_bounded.py checks that none
is rendered in process)."""

from __future__ import annotations

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
