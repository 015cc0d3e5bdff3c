"""The store's SQL as PostgreSQL receives it (the contract suite runs it on both databases)."""

from __future__ import annotations

import pytest

from flexor_iac.controlplane.placeholders import postgres as _postgres


@pytest.mark.parametrize("written, sent", [
    ("SELECT a FROM t WHERE b=? AND c=?", "SELECT a FROM t WHERE b=%s AND c=%s"),
    ("SELECT 'why?' -- or not?\n, ?", "SELECT 'why?' -- or not?\n, %s"),
    ('SELECT "odd?name" /* ? */ FROM t', 'SELECT "odd?name" /* ? */ FROM t'),
    ("SELECT $q$ it's ? $q$, ?", "SELECT $q$ it's ? $q$, %s"),
    ("SELECT data ?? 'key', data ??| ? FROM t", "SELECT data ? 'key', data ?| %s FROM t"),
    ("SELECT '100%' LIKE ?", "SELECT '100%%' LIKE %s"),
], ids=["placeholders", "line comment", "identifier and block comment", "dollar quotes",
        "jsonb operators", "percent"])
def test_only_placeholders_become_psycopgs(written: str, sent: str) -> None:
    assert _postgres(written) == sent
