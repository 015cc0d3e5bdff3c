"""Meta-tests: the files a newcomer's tools read — docs/config.md, .pre-commit-hooks.yaml and the
package's classifiers — agree with the code, so they cannot fall behind it."""

from __future__ import annotations

import re
import sys
import tomllib
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from flexor_iac.main import cli
from flexor_iac.project.models import (
    AgentSpec,
    FlexorStackSettings,
    MaintenanceWindow,
    SkillSpec,
    VaultConfig,
)
from tests.conftest import REPO

CONFIG_DOC = (REPO / "docs" / "config.md").read_text()
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of a file format, a nested group's keys dotted (`trigger.cron`)."""
    keys = []
    for name, field in model.model_fields.items():
        group = field.annotation  # a nested model; maps and lists of models are one key
        if isinstance(group, type) and issubclass(group, BaseModel):
            keys += _keys(group, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _row(key: str) -> str:
    """The docs/config.md table row of `key`."""
    rows = [line for line in CONFIG_DOC.splitlines() if line.startswith(f"| `{key}` |")]
    assert rows, f"docs/config.md has no row for `{key}`"
    return rows[0]


@pytest.mark.parametrize("field", list(FlexorStackSettings.model_fields))
def test_every_stack_setting_is_documented_with_its_default(field: str) -> None:
    row = _row(f"flexor:{field}")
    default: Any = FlexorStackSettings.model_fields[field].default
    if default is not None:
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert f"`{shown}`" in row, (field, default)
    assert f"flexor:{field}:" in CONFIG_DOC  # and in the example stack file


def test_the_project_setting_is_documented() -> None:
    assert "`flexor:defaultVault`" in _row("flexor:defaultVault")


@pytest.mark.parametrize(("model", "key"), [
    (model, key) for model in (AgentSpec, SkillSpec, VaultConfig, MaintenanceWindow)
    for key in _keys(model)], ids=lambda value: getattr(value, "__name__", value))
def test_every_key_of_every_file_format_is_documented(model: type[BaseModel], key: str) -> None:
    assert _row(key)


def test_the_stack_files_point_at_the_reference() -> None:
    for stack in REPO.glob("Pulumi.*.yaml"):
        assert "docs/config.md" in stack.read_text(), stack


def test_the_pre_commit_hook_validates_when_project_files_change() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    [hook] = [hook for hook in hooks if hook["id"] == "flexor-validate"]
    assert (hook["entry"], hook["language"], hook["pass_filenames"]) == (
        "flexor validate", "python", False)
    program, verb = hook["entry"].split()
    assert program in PROJECT["scripts"] and verb in cli.commands
    files = re.compile(hook["files"])  # pre-commit matches it with re.search
    project_files = [path.relative_to(REPO).as_posix() for path in (
        *REPO.glob("Pulumi*.yaml"), *REPO.glob("agents/*"), *REPO.glob("vaults/**/*.*"))]
    assert len(project_files) > 6
    for path in project_files:
        assert files.search(path), path
    for path in ("README.md", "flexor_iac/main.py", "docs/config.md", "tests/project/x.yaml",
                 "docs/ci/gitlab-ci.yml", "pyproject.toml"):
        assert not files.search(path), path


def test_the_classifiers_name_the_python_versions_that_are_supported() -> None:
    classifiers = PROJECT["classifiers"]
    versions = [c.rsplit(" :: ", 1)[1] for c in classifiers
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    minimum = PROJECT["requires-python"].removeprefix(">=")
    assert versions[0] == minimum  # requires-python and the classifiers agree
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in versions  # this one is tested
    for example in (REPO / "docs" / "ci").glob("*.yml"):  # the Pythons the CI examples set up
        used = re.findall(r"""(?:python-version: ["']?|pulumi-python-)(3\.\d+)""",
                          example.read_text())
        assert set(used) <= set(versions), (example.name, used)
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert "license" in PROJECT or not any(c.startswith("License ::") for c in classifiers)
