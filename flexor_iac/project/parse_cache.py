"""Parsed files kept between runs, keyed the way git's index keys files (`.flexor/cache/`).

Parsing is most of what `flexor validate` spends on a large project; an unchanged file need not
be parsed again. The cache is `marshal` data (plain values only, nothing executable), written
aside and renamed into place; a cache that cannot be read or written is simply not used.
Entries of files that no longer exist are dropped. A file is recognised by its size, nanosecond
modification and change times, inode and device, as git's index does: no extra read of every
file on every run. The change time matters: `cp -p`, `tar` or `rsync -a` put a rewritten file's
old mtime back, but no user can set its ctime. A file changed within UNSURE_NS of the moment
the cache is written is not kept (racy git: a second write within one tick of the clock, or of
a filesystem with whole-second times, leaves every time as it was), so it is read again next
time. Entries hold the data and the text (positions are found in the text only when a
diagnostic needs one).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import time
from pathlib import Path
from typing import Any

from flexor_iac.core.workspace import private_dir
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import MAX_FILE_BYTES, Document

FORMAT = 4  # 3: json-too-deep; an unclosed quote is located where it opens; 4: git's index key
FILE = Path(".flexor") / "cache" / f"documents.{FORMAT}.marshal"
# Two seconds: the coarsest file times in use (FAT's), far above ext4's clock tick.
UNSURE_NS = 2_000_000_000
Key = tuple[str, int, int, int, int, int]  # display path, size, mtime, ctime, inode, device
Entry = tuple[Any, ...]  # a Document or Diagnostic as plain values
clock_ns = time.time_ns  # files are stamped by a coarser reading of this clock


def settled(key: Key) -> bool:
    """Whether a file's key can stand for its content: it did not change within UNSURE_NS of
    now (a second write within one tick of the file clock would leave the same key)."""
    return max(key[2], key[3]) < clock_ns() - UNSURE_NS


def file_key(path: Path, display: str) -> Key | None:
    """What identifies this version of the file (see the module's docstring); None for a file
    the cache does not hold."""
    try:
        status = path.stat()
    except OSError:
        return None
    if status.st_size > MAX_FILE_BYTES:
        return None
    return (display, status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino,
            status.st_dev)


def encode(entry: Document | Diagnostic) -> Entry:
    """Plain values for marshal."""
    if isinstance(entry, Document):
        return ("d", entry.path, entry.data, entry.text)
    return ("x", entry.path, entry.line, entry.col, entry.severity, entry.message, entry.rule)


def decode(raw: Entry) -> Document | Diagnostic:
    """The Document or Diagnostic `encode` was given."""
    if raw[0] == "d":
        return Document(raw[1], raw[2], raw[3])
    return Diagnostic(*raw[1:])


class ParseCache:
    """The cache of one project."""

    def __init__(self, root: Path) -> None:
        self.file = root / FILE
        self.entries: dict[Key, Entry] = {}
        try:
            stored = marshal.loads(self.file.read_bytes())
            if isinstance(stored, tuple) and stored[:1] == (FORMAT,):
                self.entries = stored[1]
        except (OSError, EOFError, ValueError, TypeError, IndexError):
            self.entries = {}

    def get(self, key: Key) -> Document | Diagnostic | None:
        """The parsed file for `key`, if cached."""
        raw = self.entries.get(key)
        return decode(raw) if raw is not None else None

    def save(self, parsed: dict[Key, Document | Diagnostic]) -> None:
        """Keep these entries (the project's current files), except the unsure ones."""
        fresh = {key: self.entries.get(key) or encode(entry) for key, entry in parsed.items()
                 if settled(key)}
        if fresh == self.entries:
            return
        try:
            payload = marshal.dumps((FORMAT, fresh))
        except ValueError:  # a value marshal cannot hold (a YAML timestamp): leave those out
            fresh = {k: v for k, v in fresh.items() if _marshallable(v)}
            payload = marshal.dumps((FORMAT, fresh))
        aside = self.file.with_name(f"{self.file.name}.{os.getpid()}")
        try:
            private_dir(self.file.parent)
            aside.write_bytes(payload)
            aside.replace(self.file)
        except OSError:  # a read-only checkout: validate still works, only slower
            with contextlib.suppress(OSError):
                aside.unlink(missing_ok=True)
            return
        for older in self.file.parent.glob("documents.*.marshal"):  # earlier formats
            if older != self.file:
                with contextlib.suppress(OSError):
                    older.unlink()


def _marshallable(value: Any) -> bool:
    try:
        marshal.dumps(value)
    except ValueError:
        return False
    return True
