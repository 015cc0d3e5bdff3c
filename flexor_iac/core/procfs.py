"""Processes of this host as Linux's /proc shows them: alive or not, parents, names."""

from __future__ import annotations

import os
from pathlib import Path

PROC_LOCKS = Path("/proc/locks")  # every lock on the machine, by device and inode
FileId = tuple[int, int, int]  # (device major, device minor, inode)


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


def command_of(pid: int) -> list[str]:
    """The command line of `pid` (/proc/<pid>/cmdline; [] when gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]]


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


def file_id(status: os.stat_result) -> FileId:
    """A file as /proc/locks names it: its device's major and minor numbers, and its inode."""
    return os.major(status.st_dev), os.minor(status.st_dev), status.st_ino


def flock_holders() -> dict[FileId, set[int]]:
    """The pids that hold a flock(2) lock, by file.

    A line reads `1: FLOCK  ADVISORY  WRITE 4242 fe:00:10035209 0 EOF` (the device in hex); a
    process waiting for that lock adds `1: -> FLOCK …`, which holds nothing. An inode number
    alone names no file: another device has the same numbers.
    """
    try:
        lines = PROC_LOCKS.read_text().splitlines()
    except OSError:
        return {}
    found: dict[FileId, set[int]] = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK":
            major, minor, inode = fields[5].split(":")
            found.setdefault((int(major, 16), int(minor, 16), int(inode)), set()).add(
                int(fields[4]))
    return found
