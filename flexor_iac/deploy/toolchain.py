"""Where the pinned Pulumi toolchain is on this machine (scripts/setup puts it there)."""

from __future__ import annotations

import os
import shutil
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from flexor_iac.core.errors import ToolchainError

# What one toolchain folder must hold (scripts/setup keeps the same list).
TOOL_FILES = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-resource-pulumi-python",
)


@cache
def pins() -> dict[str, str]:
    """The pinned versions from flexor_iac/toolchain.toml."""
    text = resources.files("flexor_iac").joinpath("toolchain.toml").read_text()
    pinned: dict[str, str] = tomllib.loads(text)["pulumi"]
    return pinned


def cache_bin_dir() -> Path:
    """The per-user, per-version folder scripts/setup builds into."""
    root = os.environ.get("FLEXOR_TOOLS_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flexor-iac"
    )
    return Path(root) / f"pulumi-v{pins()['cli']}" / "bin"


def _candidates() -> list[Path]:
    found: list[Path] = []
    if explicit := os.environ.get("FLEXOR_PULUMI_BIN"):
        found.append(Path(explicit))
    checkout = Path(__file__).resolve().parents[2] / ".tools" / "bin"
    found += [checkout, cache_bin_dir()]
    if on_path := shutil.which("pulumi"):
        found.append(Path(on_path).resolve().parent)
    return found


def _complete(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in TOOL_FILES)


@cache
def pulumi_bin_dir() -> Path:
    """The first complete toolchain folder: $FLEXOR_PULUMI_BIN, .tools/bin, the cache, PATH."""
    for folder in _candidates():
        if _complete(folder):
            return folder
    raise ToolchainError(
        f"the Pulumi toolchain (v{pins()['cli']}) is not set up: run `scripts/setup` "
        "in the flexor-iac checkout (or set FLEXOR_PULUMI_BIN to a folder holding "
        + ", ".join(TOOL_FILES)
        + ")"
    )
