"""Each folder of flexor_iac/ is one layer, and imports only go down (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

# Bottom first. A module may import from its own layer and the layers below it, never above.
LAYERS = ("core", "language", "project", "remote", "controlplane", "access", "api", "runtime",
          "serve", "resources", "deploy", "console", "commands", "cli")
ENTRY_POINTS = ("main", "program")  # flexor_iac/<name>.py: they wire the layers, on top
PACKAGE_FACE = ("__init__", "__version__")  # flexor_iac/__init__.py: the version, below all


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in PACKAGE_FACE:
        return -1
    if parts[1] in ENTRY_POINTS:
        return len(LAYERS)
    return LAYERS.index(parts[1])


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] \
                if node.module == "flexor_iac" else [node.module]
            found += [(node.lineno, name) for name in names if name.startswith("flexor_iac")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.startswith("flexor_iac")]
    return found


def test_every_folder_is_a_known_layer() -> None:
    package = REPO / "flexor_iac"
    folders = {p.name for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS)
    modules = {p.stem for p in package.glob("*.py")}
    assert modules <= {*ENTRY_POINTS, "__init__"}


def test_imports_only_go_down() -> None:
    upward = []
    for path in sorted((REPO / "flexor_iac").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for line, imported in _imports(path):
            if _layer(imported) > _layer(module):
                upward.append(f"{path.relative_to(REPO)}:{line}: {module} imports {imported}")
    assert upward == []
