"""Naming what was meant when a name is not known: `no vault 'compnay' (did you mean company?)`."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


def nearest(given: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name closest to `given`, if one is close enough to be what was meant."""
    close = get_close_matches(given, sorted(set(known)), n=1, cutoff=cutoff)
    return close[0] if close else None


def unknown_name(given: str, known: Iterable[str], kind: str) -> str:
    """`'compnay' is not a vault (did you mean company?)`, or the known names when none is
    close (or `there are none`)."""
    choices = sorted(set(known))
    if (close := nearest(given, choices)) is not None:
        return f"{given!r} is not a {kind} (did you mean {close}?)"
    if not choices:
        return f"{given!r} is not a {kind} (there are none)"
    shown = ", ".join(choices[:8]) + (", …" if len(choices) > 8 else "")
    return f"{given!r} is not a {kind} (known: {shown})"
