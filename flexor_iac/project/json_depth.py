"""How deep JSON text nests, found without parsing it (json.loads recurses, and a file nested
100,000 levels deep would exhaust the stack)."""

from __future__ import annotations

import re

_JSON_SYNTAX = re.compile(r'["\\\[\]{}]')


def too_deep(text: str, limit: int) -> tuple[int, int] | None:
    """Line and column of the first bracket nested deeper than `limit` (None: within it).

    One pass over the quotes, backslashes and brackets (no backtracking, whatever the text).
    """
    depth, in_string, escaped = 0, False, -1
    for token in _JSON_SYNTAX.finditer(text):
        at, char = token.start(), token.group()
        if in_string:
            if at == escaped:
                continue
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        elif char in "]}":
            depth -= 1
    return None
