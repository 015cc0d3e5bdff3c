"""Content digests: canonical JSON for specs, file trees for vault snapshots."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flexor_iac.project.files import Identity, read_regular


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_digest(value: Any) -> str:
    """`sha256:<hex>` of the canonical JSON of `value`."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


def tree_digest(root: Path, files: Iterable[str],
                identities: Mapping[str, Identity] | None = None,
                limit: int | None = None) -> str:
    """`sha256:<hex>` over the relative paths and bytes of `files` under `root` (each the file
    `identities` names, when given: NotRegular otherwise; TooLarge over `limit` bytes)."""
    hasher = hashlib.sha256()
    for name in sorted(files):
        # Never blocks on a file swapped for a FIFO, never follows a link swapped in.
        data = read_regular(root / name, limit, identity=(identities or {}).get(name))
        hasher.update(f"{name}\0{len(data)}\0".encode())
        hasher.update(data)
    return "sha256:" + hasher.hexdigest()
