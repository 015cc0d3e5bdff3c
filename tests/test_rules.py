"""Every rule id the code can report is registered, and every registered rule is reported by
a test that checks it: a corpus case (tests/project/test_corpus.py checks its output line for
line) or, for the project shapes a corpus file cannot make, a case below."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from flexor_iac.project.rules import RULES
from flexor_iac.project.validate import validate_project
from tests.conftest import REPO
from tests.helpers.project import write_agent

RULE_SHAPE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
# An encoding, and the git verbs project/changes.py runs: rule-shaped, not rules.
NOT_RULES = {"utf-8", "ls-files", "merge-base", "rev-parse", "symbolic-ref"}
CORPUS = REPO / "tests" / "project" / "corpus"  # tests/project/test_corpus.py runs each case


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


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _without_a_vault(root: Path) -> None:
    _edit(root / "Pulumi.yaml", "  flexor:defaultVault: company\n", "")
    _edit(root / "agents" / "feed-monitor.yaml", "vault: company\n", "")


def _oversized(root: Path) -> None:
    with (root / "agents" / "huge.yaml").open("wb") as huge:
        huge.truncate(2 * 1024 * 1024)  # sparse: nothing written


def _two_agents_on_one_path(root: Path) -> None:
    for name in ("orders-in", "orders-too"):
        write_agent(root, name, "  - skill: core.audit.log\n    args:\n      event: fired\n",
                    trigger="type: webhook\n  path: /hooks/orders")


# What a corpus file cannot be: each breaks the example project in one way.
BREAKS: dict[str, Callable[[Path], None]] = {
    "file-too-large": _oversized,
    "file-unreadable": lambda root: (root / "agents" / "folder.yaml").mkdir(),
    "file-not-regular": lambda root: os.mkfifo(root / "agents" / "pipe.yaml"),
    "vault-missing-config": lambda root: (root / "vaults" / "empty").mkdir(),
    "vault-missing": _without_a_vault,
    "stack-missing": lambda root: (root / "Pulumi.production.yaml").unlink(),
    "webhook-path-duplicate": _two_agents_on_one_path,  # two files
}


@pytest.mark.parametrize("rule", BREAKS)
def test_each_break_is_reported_as_its_rule_alone(project: Path, rule: str) -> None:
    BREAKS[rule](project)
    assert [d.rule for d in validate_project(project)[1]] == [rule]


def _corpus_rules() -> set[str]:
    """The rules the corpus' expected outputs end their lines with."""
    return {rule for path in CORPUS.glob("*.expected")
            for rule in re.findall(r" \[([a-z0-9-]+)\]$", path.read_text(), re.MULTILINE)}


def test_every_registered_rule_is_exercised_by_a_test() -> None:
    assert set(RULES) - _corpus_rules() - set(BREAKS) == set()
    assert set(BREAKS) - set(RULES) == set()


def test_troubleshooting_gives_every_rule_with_its_fix() -> None:
    rows = {}  # rule → its row's other cells: what it reports, and the fix
    for line in (REPO / "docs" / "troubleshooting.md").read_text().splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells[1:]
    assert [rule for rule in RULES if rule not in rows] == []
    assert [rule for rule in RULES if len(rows[rule]) != 2 or not all(rows[rule])] == []
