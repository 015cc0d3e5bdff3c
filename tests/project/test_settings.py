"""Pulumi.yaml's `flexor:` settings, read before the project is known."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flexor_iac.project.settings import pulumi_yaml_setting


@pytest.mark.parametrize("config, expected", [
    ("  flexor:server: https://flexor.example\n", "https://flexor.example"),
    ("  flexor:server:\n    value: https://a.example\n", "https://a.example"),
    ("  flexor:server:\n    default: https://b.example\n    description: ours\n",
     "https://b.example"),
    ("  flexor:database: postgresql://db/x\n", None),
    ("  flexor:server: ''\n", None),
], ids=["plain", "value form", "default form", "another key", "empty"])
def test_a_setting_is_read_in_either_form(tmp_path: Path, config: str,
                                          expected: str | None) -> None:
    (tmp_path / "Pulumi.yaml").write_text(f"name: flexor\nruntime: python\nconfig:\n{config}")
    assert pulumi_yaml_setting(tmp_path, "flexor:server") == expected


@pytest.mark.parametrize("content", [
    None, "config: [unclosed\n", "config: " + "[" * 100_000, "- a list\n", "config: 3\n",
    "\0binary",
], ids=["missing", "broken", "too deep", "not a mapping", "config not a mapping", "binary"])
def test_a_file_that_cannot_be_read_has_no_settings(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "Pulumi.yaml").write_text(content)
    assert pulumi_yaml_setting(tmp_path, "flexor:server") is None


def test_a_pulumi_yaml_that_is_a_pipe_is_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "Pulumi.yaml")
    assert pulumi_yaml_setting(tmp_path, "flexor:server") is None
