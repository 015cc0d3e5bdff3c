"""Processes of this host as Linux's /proc shows them: alive or not, parents, names."""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the name (state, ppid, …); [] when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after it
    return stat.rsplit(")", 1)[1].split()


def parent_of(pid: int) -> int:
    """The parent pid of `pid` (0 when it cannot be read)."""
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def name_of(pid: int) -> str:
    """The command name of `pid` (/proc/<pid>/comm: at most 15 characters; "" when gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Whether a process of this host runs (a zombie, dead but not yet reaped, does not)."""
    fields = _stat(pid) if pid > 0 else []
    return bool(fields) and fields[0] not in ("Z", "X")


def lineage() -> set[int]:
    """The pids of this process, its parent, its parent's parent, … up to init."""
    found: set[int] = set()
    pid = os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        pid = parent_of(pid)
    return found


def flock_holders(inode: int) -> set[int]:
    """The pids that hold a flock(2) lock on the file with this inode (/proc/locks; waiters,
    shown with `->`, hold nothing)."""
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return set()
    found = set()
    for line in lines:
        fields = line.split()  # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:9977899 0 EOF"
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == \
                str(inode):
            found.add(int(fields[4]))
    return found
