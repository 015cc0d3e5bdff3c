"""Content digests: canonical JSON for specs, file trees for vault snapshots."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flexor_iac.config.files import read_regular


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_digest(value: Any) -> str:
    """`sha256:<hex>` of the canonical JSON of `value`."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


def tree_digest(root: Path, files: Iterable[str]) -> str:
    """`sha256:<hex>` over the relative paths and bytes of `files` under `root`."""
    hasher = hashlib.sha256()
    for name in sorted(files):
        data = read_regular(root / name)  # never blocks on a file swapped for a FIFO
        hasher.update(f"{name}\0{len(data)}\0".encode())
        hasher.update(data)
    return "sha256:" + hasher.hexdigest()
