"""Naming what was meant when a name is not known: `no vault 'compnay' (did you mean company?)`."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


def unknown_name(given: str, known: Iterable[str], kind: str) -> str:
    """`'compnay' is not a vault (did you mean company?)`, or the known names when none is
    close (or `there are none`)."""
    choices = sorted(set(known))
    close = get_close_matches(given, choices, n=1, cutoff=0.6)
    if close:
        return f"{given!r} is not a {kind} (did you mean {close[0]}?)"
    if not choices:
        return f"{given!r} is not a {kind} (there are none)"
    shown = ", ".join(choices[:8]) + (", …" if len(choices) > 8 else "")
    return f"{given!r} is not a {kind} (known: {shown})"
