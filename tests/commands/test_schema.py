"""`flexor schema`: JSON Schemas generated from the models accept real files, reject bad ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flexor_iac import main as cli_main
from flexor_iac.constants import ExitCode
from tests.conftest import REPO


def _schema(kind: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert cli_main.main(["schema", kind]) == ExitCode.OK
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_agent_schema_describes_the_agent_file(capsys: pytest.CaptureFixture[str]) -> None:
    schema = _schema("agent", capsys)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {  # type: ignore[arg-type]
        "name", "version", "description", "owner", "environment", "trigger", "tasks"}
    example = yaml.safe_load((REPO / "agents" / "feed-monitor.yaml").read_text())
    assert set(example) <= set(schema["properties"])  # type: ignore[arg-type]


def test_all_three_without_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["schema"]) == ExitCode.OK
    assert set(json.loads(capsys.readouterr().out)) == {"agent", "skill", "vault"}


def test_vault_schema_lists_tiers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    schema = _schema("vault", capsys)
    text = json.dumps(schema)
    assert '"L1", "L2", "L3", "L4"' in text and "env_allowlist" in text


def test_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["schema", "pipeline"]) == ExitCode.USAGE


def test_vault_schema_has_the_notification_allowlist(capsys: pytest.CaptureFixture[str]) -> None:
    schema = _schema("vault", capsys)
    settings = schema["$defs"]["NotificationSettings"]["properties"]  # type: ignore[index]
    assert settings["allowed_hosts"]["items"]["pattern"].startswith("^([A-Za-z0-9.-]+|")
