"""Meta-tests: the pieces that must agree with each other do."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from flexor_iac import resources
from flexor_iac.core.constants import Environment
from flexor_iac.deploy import toolchain
from flexor_iac.main import cli
from flexor_iac.resources.base import FlexorProvider
from tests.conftest import REPO

RESOURCE_MODULES = ("environment_binding", "vault_tier_scope", "agent")


def test_pulumi_sdk_pin_is_the_same_everywhere() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pinned = toolchain.pins()["python_sdk"]
    assert f"pulumi=={pinned}" in pyproject["project"]["dependencies"]
    assert importlib.metadata.version("pulumi") == pinned


def test_cli_pin_is_not_older_than_the_sdk() -> None:
    def parts(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.split("."))

    assert parts(toolchain.pins()["cli"]) >= parts(toolchain.pins()["python_sdk"])


def test_setup_script_and_package_agree_on_the_toolchain_files() -> None:
    script = (REPO / "scripts" / "setup").read_text()
    listed = re.search(r"TOOL_FILES = \(([^)]*)\)", script)
    assert listed is not None
    assert tuple(re.findall(r'"([^"]+)"', listed.group(1))) == toolchain.TOOL_FILES


@pytest.mark.parametrize("env", list(Environment))
def test_every_environment_has_its_stack_file(env: Environment) -> None:
    stack = yaml.safe_load((REPO / f"Pulumi.{env.value}.yaml").read_text())
    assert stack["config"]["flexor:environment"] == env.value


@pytest.mark.parametrize("module_name", RESOURCE_MODULES)
def test_every_resource_kind_has_a_provider_a_resource_and_tests(module_name: str) -> None:
    module = importlib.import_module(f"{resources.__name__}.{module_name}")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if c.__module__ == module.__name__]
    assert any(issubclass(c, FlexorProvider) for c in classes)
    kinds = [c for c in classes if not issubclass(c, FlexorProvider)]
    assert len(kinds) == 1
    tests = (REPO / "tests" / "resources" / f"test_{module_name}.py").read_text()
    assert kinds[0].__name__ in tests


def test_the_verbs_page_documents_every_verb() -> None:
    verbs = (REPO / "docs" / "reference" / "verbs.md").read_text()
    for verb in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"flexor {verb}" in verbs, verb


def test_example_project_validates_clean() -> None:
    from flexor_iac.project.validate import validate_project

    _project, diagnostics = validate_project(REPO, cache="off")  # never write the checkout
    assert diagnostics == []


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make demo" in readme


def test_local_state_and_tools_are_ignored() -> None:
    ignored = (REPO / ".gitignore").read_text().split()
    for folder in (".flexor/", ".tools/", ".venv/"):
        assert folder in ignored


def test_no_module_is_oversized() -> None:
    for path in Path(REPO / "flexor_iac").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 300, path


def test_the_ci_examples_show_both_front_doors() -> None:
    """The recommended examples go through the team server; the direct one runs `pulumi`."""
    import yaml

    needs = {"github-actions.yml": ("FLEXOR_SERVER",), "gitlab-ci.yml": ("FLEXOR_SERVER",),
             "github-actions-direct.yml": ("pulumi preview", "FLEXOR_DATABASE_URL")}
    for name, own in needs.items():
        text = (REPO / "docs" / "ci" / name).read_text()
        assert isinstance(yaml.safe_load(text), dict), name
        for needed in (*own, "flexor deploy --env staging", "flexor deploy --env production",
                       "FLEXOR_API_KEY"):
            assert needed in text, (name, needed)


def _imported_test_modules(path: Path) -> list[str]:
    """What a file under tests/ imports from tests/ (relative imports named by their dots)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.ImportFrom) and node.module == "tests":
            found += [f"tests.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests."):
            found.append(node.module or "")
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("tests.")]
    return found


def test_no_test_module_imports_another() -> None:
    def shared(module: str) -> bool:
        return module in ("tests.conftest", "tests.helpers") or module.startswith("tests.helpers.")

    imports = [f"{path.relative_to(REPO)}: {module}"
               for path in sorted((REPO / "tests").rglob("*.py"))
               for module in _imported_test_modules(path) if not shared(module)]
    assert imports == [], "share helpers through tests/helpers/ or a conftest.py fixture"
