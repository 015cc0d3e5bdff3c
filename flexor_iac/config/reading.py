"""Read many project files at once: sequentially, or in worker processes when it pays off."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal

from flexor_iac.config.diagnostics import Diagnostic
from flexor_iac.config.documents import Document, read_document
from flexor_iac.config.parse_cache import ParseCache, file_key

PROJECT_FILE_NAMES = ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.staging.yaml",
                      "Pulumi.production.yaml")
Job = tuple[Path, str]
CacheUse = Literal["use", "read", "off"]
Parsed = dict[Path, Document | Diagnostic]
# Below this many files one process is faster than starting workers.
PARALLEL_MIN_FILES = 200
MAX_WORKERS = 4


def _read_all(jobs: list[Job]) -> Parsed:
    return {path: read_document(path, display) for path, display in jobs}


def _workers(count: int) -> int:
    """How many processes to read with (1: stay sequential).

    Forking is only safe without other threads (the Pulumi program runs beside gRPC threads).
    """
    if count < PARALLEL_MIN_FILES or threading.active_count() > 1:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def read_documents(paths: list[Path], root: Path, cache: CacheUse = "use") -> Parsed:
    """Parse every path (shown relative to `root`), reusing the parse of unchanged files.

    `cache`: "use" reads and updates `.flexor/cache/` (then `paths` must be the whole project:
    the cache keeps exactly these entries), "read" only reads it, "off" ignores it.
    """
    jobs = [(path, path.relative_to(root).as_posix()) for path in paths]
    if cache == "off":
        return _parse(jobs)
    stored = ParseCache(root)
    keys = {path: file_key(path, display) for path, display in jobs}
    parsed: Parsed = {}
    for path, key in keys.items():
        if key is not None and (hit := stored.get(key)) is not None:
            parsed[path] = hit
    parsed.update(_parse([job for job in jobs if job[0] not in parsed]))
    if cache == "use":
        stored.save({key: parsed[path] for path, key in keys.items() if key is not None})
    return parsed


def _parse(jobs: list[Job]) -> Parsed:
    """Parse files; with many, worker processes take shares and this process reads one."""
    workers = _workers(len(jobs))
    if workers == 1:
        return _read_all(jobs)
    shares = [jobs[index::workers] for index in range(workers)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        pending = [pool.submit(_read_all, share) for share in shares[1:]]
        parsed = _read_all(shares[0])
        for future in pending:
            parsed.update(future.result())
    return parsed


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
