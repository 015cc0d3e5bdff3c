"""Read many project files at once, with a helper process when there are many.

`start_reading` returns at once; the files are parsed while the caller goes on (for `flexor
validate`: while it imports the model and check modules, which costs about as much as parsing a
large project). With many files a forked helper parses from the front of the list; when the
caller asks for the result it parses from the back until the two meet, so the split adapts to
however long the caller was busy. The helper sends its documents back as one marshal payload.
See docs/decisions/008-validate-speed.md.
"""

from __future__ import annotations

import contextlib
import marshal
import mmap
import os
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from flexor_iac.config.diagnostics import Diagnostic
from flexor_iac.config.documents import Document, read_document
from flexor_iac.config.parse_cache import Entry, ParseCache, decode, encode, file_key

PROJECT_FILE_NAMES = ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.staging.yaml",
                      "Pulumi.production.yaml")
Job = tuple[Path, str]
CacheUse = Literal["use", "read", "off"]
Parsed = dict[str, Document | Diagnostic]  # by project-relative POSIX path
# Below this many files to parse, one process is faster than starting a helper.
PARALLEL_MIN_FILES = 200


def helper_allowed(count: int) -> bool:
    """Whether to fork a helper for `count` files.

    Forking is only safe without other threads (the Pulumi program runs beside gRPC threads),
    needs a second CPU to pay off, and a system that has fork().
    """
    return (count >= PARALLEL_MIN_FILES and threading.active_count() == 1
            and (os.cpu_count() or 1) > 1 and hasattr(os, "fork"))


class _Helper:
    """A forked process parsing jobs from the front while the parent takes them from the back.

    `claimed` is an anonymous shared map with one byte per job. Each side marks a job before
    parsing it and stops at the first job the other side has marked. Two sides that look at
    the same job at the same instant both parse it (the same result twice, harmless); no job
    is left out, because each side stops only where the other has been.
    """

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.claimed = mmap.mmap(-1, len(jobs))
        reader, writer = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the helper: never returns to the caller
            code = 1
            try:
                os.close(reader)
                self._serve(writer)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing the parent's buffers twice
        os.close(writer)
        self.reader = reader

    def _serve(self, writer: int) -> None:
        parsed = {}
        for index in range(len(self.jobs)):
            if self.claimed[index]:
                break
            self.claimed[index] = 1
            path, display = self.jobs[index]
            parsed[index] = encode(read_document(path, display))
        with os.fdopen(writer, "wb") as out:
            out.write(_pack(parsed))

    def _own_share(self) -> Iterator[int]:
        for index in range(len(self.jobs) - 1, -1, -1):
            if self.claimed[index]:
                return
            self.claimed[index] = 1
            yield index

    def result(self) -> Parsed:
        """Parse the parent's share, then collect the helper's (or parse what it left)."""
        parsed: Parsed = {}
        for index in self._own_share():
            path, display = self.jobs[index]
            parsed[display] = read_document(path, display)
        with os.fdopen(self.reader, "rb") as incoming:
            payload = incoming.read()
        os.waitpid(self.pid, 0)
        self.claimed.close()
        with contextlib.suppress(Exception):  # a helper that failed sent nothing usable
            for index, raw in _unpack(payload).items():
                parsed[self.jobs[index][1]] = decode(raw)
        for path, display in self.jobs:  # whatever the helper did not deliver
            if display not in parsed:
                parsed[display] = read_document(path, display)
        return parsed


def _pack(parsed: dict[int, Entry]) -> bytes:
    try:
        return b"m" + marshal.dumps(parsed)
    except ValueError:  # a value marshal cannot hold (a YAML timestamp)
        return b"p" + pickle.dumps(parsed)


def _unpack(payload: bytes) -> dict[int, Entry]:
    body = payload[1:]
    found = marshal.loads(body) if payload[:1] == b"m" else pickle.loads(body)
    return dict(found)


class PendingDocuments:
    """Files being parsed; `result()` finishes the work and returns every file's outcome."""

    def __init__(self, paths: list[Path], root: Path, cache: CacheUse) -> None:
        self.cache = cache
        self.jobs = [(path, display_path(path, root)) for path in paths]
        self.stored = ParseCache(root) if cache != "off" else None
        self.keys = {display: file_key(path, display) for path, display in self.jobs} \
            if self.stored is not None else {}
        self.parsed: Parsed = {}
        if self.stored is not None:
            for display, key in self.keys.items():
                if key is not None and (hit := self.stored.get(key)) is not None:
                    self.parsed[display] = hit
        self.missing = [job for job in self.jobs if job[1] not in self.parsed]
        self.helper = _Helper(self.missing) if helper_allowed(len(self.missing)) else None
        self.finished = False

    def result(self) -> Parsed:
        """Every path's Document or Diagnostic (the parse cache updated when `cache="use"`)."""
        if self.finished:
            return self.parsed
        if self.helper is not None:
            self.parsed.update(self.helper.result())
        else:
            self.parsed.update({display: read_document(path, display)
                                for path, display in self.missing})
        if self.cache == "use" and self.stored is not None:
            self.stored.save({key: self.parsed[display] for display, key in self.keys.items()
                              if key is not None})
        self.finished = True
        return self.parsed


def start_reading(paths: list[Path], root: Path, cache: CacheUse = "use") -> PendingDocuments:
    """Begin parsing every path (shown relative to `root`), reusing unchanged files' parse.

    `cache`: "use" reads and updates `.flexor/cache/` (then `paths` must be the whole project:
    the cache keeps exactly these entries), "read" only reads it, "off" ignores it.
    """
    return PendingDocuments(paths, root, cache)


def read_documents(paths: list[Path], root: Path, cache: CacheUse = "use") -> Parsed:
    """Parse every path now (see start_reading)."""
    return start_reading(paths, root, cache).result()


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form, as every diagnostic shows it."""
    text, prefix = str(path), f"{root}{os.sep}"
    if os.sep == "/" and text.startswith(prefix):  # the common case, without pathlib's cost
        return text[len(prefix):]
    return path.relative_to(root).as_posix()


def path_order(path: Path) -> tuple[str, ...]:
    """Sort key equal to Path ordering on POSIX, without Path.__lt__'s cost per comparison."""
    return path.parts


def project_files(root: Path) -> list[Path]:
    """Every file the project model reads (existing ones only)."""
    found = [root / name for name in PROJECT_FILE_NAMES if (root / name).is_file()]
    found += sorted(root.glob("vaults/*/vault.json"), key=path_order)
    found += sorted(root.glob("vaults/*/skills/*.y*ml"), key=path_order)
    found += sorted(root.glob("agents/*.y*ml"), key=path_order)
    return found
