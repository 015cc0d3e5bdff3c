"""Every rule id the code can report is registered, and every registered rule is tested."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flexor_iac.project.rules import RULES
from tests.conftest import REPO

RULE_SHAPE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
# An encoding, and the git verbs project/changes.py runs: rule-shaped, not rules.
NOT_RULES = {"utf-8", "ls-files", "merge-base", "rev-parse", "symbolic-ref"}


def _literals(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and RULE_SHAPE.match(node.value):
                found.add(node.value)
    return found - NOT_RULES


def test_every_rule_in_the_code_is_registered() -> None:
    used = _literals(REPO / "flexor_iac" / "project")  # the checks, and the files they read
    assert used - set(RULES) == set()


def test_every_registered_rule_is_exercised_by_a_test() -> None:
    tests = "".join(p.read_text(errors="replace") for p in (REPO / "tests").rglob("*")
                    if p.is_file() and p.suffix in (".py", ".expected"))
    untested = {rule for rule in RULES if f"[{rule}]" not in tests and f'"{rule}"' not in
                tests.replace('"utf-8"', "")}
    assert untested == set()


def test_troubleshooting_gives_every_rule_with_its_fix() -> None:
    rows = {}  # rule → its row's other cells: what it reports, and the fix
    for line in (REPO / "docs" / "troubleshooting.md").read_text().splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells[1:]
    assert [rule for rule in RULES if rule not in rows] == []
    assert [rule for rule in RULES if len(rows[rule]) != 2 or not all(rows[rule])] == []
