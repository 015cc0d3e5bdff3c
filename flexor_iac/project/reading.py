"""Read many project files at once, reusing the parse of unchanged files (.flexor/cache/).

`start_reading` looks the files up in the parse cache; `result()` parses the rest. (A forked
helper that parsed while the caller imported the checks was removed: measured side by side it
saved nothing, see docs/decisions/008-validate-speed.md.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Document, read_document
from flexor_iac.project.parse_cache import ParseCache, file_key

PROJECT_FILE_NAMES = ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.staging.yaml",
                      "Pulumi.production.yaml")
Job = tuple[Path, str]
CacheUse = Literal["use", "read", "off"]
Parsed = dict[str, Document | Diagnostic]  # by project-relative POSIX path
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
        self.finished = False

    def result(self) -> Parsed:
        """Every path's Document or Diagnostic (the parse cache updated when `cache="use"`)."""
        if self.finished:
            return self.parsed
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
