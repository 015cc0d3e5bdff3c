"""The line of operations waiting for an environment's lock on one machine: a ticket each.

A waiter draws the next number (the folder's `next` file, read and written under a flock of
it) and makes its ticket file `<number>` there, which it holds a flock on for as long as it
waits. The kernel drops that flock when the waiter dies, kill -9 included, so a ticket nobody
holds is a dead waiter's: whoever looks next removes it, and it blocks no one. Only the first
live ticket may try the lock (core.locking), so a later arrival never takes it ahead of an
earlier one. Tickets are made and looked at under the `next` flock, so none is ever seen
between being made and being held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flexor_iac.core.workspace import private_dir

_NEXT = "next"


@dataclass(frozen=True)
class Ticket:
    """One waiter's place: its number in its line's folder, and the open file it holds."""

    folder: Path
    number: int
    handle: IO[str]


@contextmanager
def _counter(folder: Path) -> Iterator[IO[str]]:
    """The line's `next` file, held (flock) for the block: one waiter at a time draws a number
    or looks along the line."""
    with (folder / _NEXT).open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _numbers(folder: Path) -> list[int]:
    """The numbers of the tickets in the folder, lowest (earliest) first."""
    return sorted(int(name) for name in os.listdir(folder) if name.isdigit())


@contextmanager
def ticket(folder: Path, who: str) -> Iterator[Ticket]:
    """Stand in line (`who`: what the ticket says, for whoever reads it) for the block."""
    private_dir(folder)
    with _counter(folder) as counter:
        counter.seek(0)
        text = counter.read().strip()
        number = max([int(text) if text.isdigit() else 0, *_numbers(folder)]) + 1
        counter.seek(0)
        counter.truncate()
        counter.write(str(number))
        counter.flush()
        path = folder / f"{number:020d}"
        handle = os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600), "r+")
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(who)
        handle.flush()
    try:
        yield Ticket(folder, number, handle)
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        handle.close()


def place(mine: Ticket) -> int:
    """The ticket's place in line: 1 + the live tickets ahead of it (1: it is next). Dead
    tickets found on the way are removed."""
    with _counter(mine.folder):
        return 1 + sum(_alive(mine.folder / f"{number:020d}")
                       for number in _numbers(mine.folder) if number < mine.number)


def _alive(path: Path) -> bool:
    """Whether a waiter still holds the ticket (else it is removed)."""
    try:
        handle = path.open()
    except FileNotFoundError:
        return False  # it left the line meanwhile
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False
