"""The limits of one rendering: what a template may produce, and the memory and time its
render worker may spend. Past one, the rendering fails (RenderError): in a run, a failed
attempt, retried by the agent's policy; it never ends the CLI. The numbers, and why:

* What a rendering produces (checked by language/sandbox.py before it leaves the worker):
  MAX_TEXT characters of text per template (1 MiB: far more than a message or a key needs,
  far less than a machine), MAX_VALUE of a value measured as JSON (16 MiB: room for a full
  `max_rows_per_query` of positions), integers of MAX_INT_BITS, values nested MAX_NESTING
  deep. A run record stays bounded.
* What a rendering spends (held by the operating system, language/render_pool.py):
  RENDER_MEMORY of address space above what its worker holds at start (512 MiB: thirty times
  the largest value it may produce, and what four workers may hold at once on a small
  machine), and RENDER_SECONDS of wall time, or less when its attempt has less left (5 s:
  an ordinary rendering takes milliseconds; a template that needs more is doing a job that
  belongs in an action). See docs/decisions/017-render-backstop.md.

The limits of a run (its deadline, what its record keeps) are the runtime's: runtime/limits.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import chain, repeat
from typing import Any

MAX_TEXT = 1024 * 1024
MAX_VALUE = 16 * 1024 * 1024
MAX_INT_BITS = 4096
MAX_NESTING = 100
RENDER_MEMORY = 512 * 1024 * 1024
RENDER_SECONDS = 5.0
_SCALAR_SIZE = 24  # numbers, booleans, dates and other small values, as text
_TEXT = (str, bytes)
_SEQUENCES = (list, tuple, set, frozenset)
_CONTAINERS = (dict, *_SEQUENCES, Mapping)  # the (slower) Mapping ABC last


class LimitExceeded(ValueError):
    """A value or an evaluation went past a limit; the message says which."""


def size_words(size: int) -> str:
    """`1 MiB`, `512 KiB`, `300 bytes`."""
    for unit, name in ((1024 * 1024, "MiB"), (1024, "KiB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size} bytes"


def measure(value: Any, limit: int) -> int:
    """About how many characters `value` takes as JSON; counting stops once past `limit`.

    A value shared by reference counts every time it appears, as it would once written out:
    a list repeating one long string a million times is found too big without being written.
    Raises LimitExceeded for values nested deeper than MAX_NESTING.
    """
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise LimitExceeded(f"a value nests deeper than {MAX_NESTING} levels")
        if isinstance(item, _TEXT):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, _CONTAINERS):
            total += 2 + 2 * len(item)
            if total <= limit:  # C iterators: no Python frame per item
                children: Iterator[Any] = iter(item) if isinstance(item, _SEQUENCES) \
                    else chain.from_iterable(item.items())
                stack.extend(zip(children, repeat(depth + 1)))
        else:
            total += _SCALAR_SIZE
    return total
