"""The store's SQL, written once with `?` placeholders, as psycopg reads it (PostgreSQL)."""

from __future__ import annotations

import re
from functools import cache
from typing import LiteralString

# What a `?` may stand inside without being a placeholder, then the two meanings of `?`.
_SQL_TOKENS = re.compile(r"""
      '(?:[^']|'')*'                  # a string literal ('it''s')
    | "(?:[^"]|"")*"                  # a quoted identifier
    | --[^\n]*                        # a comment to the end of the line
    | /\*.*?\*/                        # a block comment
    | \$(?P<tag>\w*)\$.*?\$(?P=tag)\$   # a dollar-quoted string
    | \?\?                            # PostgreSQL's `?` operators (jsonb), written `??`
    | \?                              # a placeholder
""", re.VERBOSE | re.DOTALL)


@cache
def postgres(sql: LiteralString) -> str:
    """The store's SQL for psycopg: a `?` placeholder becomes `%s`, and a `??` (SQL for
    PostgreSQL alone: jsonb's `?`, `?|`, `?&`) a `?`, both only outside literals and comments;
    every `%` is doubled, since psycopg reads the whole text, literals included."""
    def one(token: re.Match[str]) -> str:
        text = token.group()
        return "%s" if text == "?" else "?" if text == "??" else text

    return _SQL_TOKENS.sub(one, sql.replace("%", "%%"))
