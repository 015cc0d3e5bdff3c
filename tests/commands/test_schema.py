"""`flexor schema`: JSON Schemas generated from the models accept real files, reject bad ones."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import yaml

from flexor_iac import main as cli_main
from flexor_iac.core.constants import ExitCode
from tests.conftest import REPO

EXAMPLES = {"agent": sorted(REPO.glob("agents/*.yaml")),
            "skill": sorted(REPO.glob("vaults/*/skills/*.yaml")),
            "vault": sorted(REPO.glob("vaults/*/vault.json"))}


def _schema(kind: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert cli_main.main(["schema", kind]) == ExitCode.OK
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_agent_schema_describes_the_agent_file(capsys: pytest.CaptureFixture[str]) -> None:
    schema = _schema("agent", capsys)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://flexor-iac.dev/schemas/agent.json"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {  # type: ignore[arg-type]
        "name", "version", "description", "owner", "environment", "trigger", "tasks"}
    example = yaml.safe_load((REPO / "agents" / "feed-monitor.yaml").read_text())
    assert set(example) <= set(schema["properties"])  # type: ignore[arg-type]


def test_without_kind_one_schema_bundles_the_three(capsys: pytest.CaptureFixture[str]) -> None:
    each = {kind: _schema(kind, capsys) for kind in EXAMPLES}
    assert cli_main.main(["schema"]) == ExitCode.OK
    bundle = json.loads(capsys.readouterr().out)
    assert (bundle["$schema"], bundle["$id"]) == ("https://json-schema.org/draft/2020-12/schema",
                                                  "https://flexor-iac.dev/schemas/flexor.json")
    assert bundle["$defs"] == each  # each exactly as `flexor schema KIND` prints it, $id included
    targets = [urljoin(bundle["$id"], choice["$ref"]) for choice in bundle["anyOf"]]
    assert targets == [schema["$id"] for schema in each.values()]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*([node["$ref"]] if "$ref" in node else []),
                *(ref for value in node.values() for ref in _refs(value))]
    return [ref for value in node for ref in _refs(value)] if isinstance(node, list) else []


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _fits(schema: dict[str, Any], node: dict[str, Any], value: Any) -> bool:
    """Whether `value` fits `node`, by the keywords the models' schemas use for shapes: $ref,
    anyOf/oneOf, type, enum/const, pattern, properties, required, additionalProperties, items.

    jsonschema is not a dependency; this checks that the generated schemas describe real files.
    """
    if "$ref" in node:
        node = {**schema["$defs"][node["$ref"].removeprefix("#/$defs/")], **node}
        del node["$ref"]
    choices = node.get("anyOf") or node.get("oneOf") or []
    fitting = sum(_fits(schema, choice, value) for choice in choices)
    if choices and (fitting == 0 or ("oneOf" in node and fitting != 1)):
        return False
    kind = node.get("type")
    if kind in ("integer", "number"):
        numeric = int if kind == "integer" else int | float
        return isinstance(value, numeric) and not isinstance(value, bool)
    if kind and not isinstance(value, _TYPES[kind]):
        return False
    if ("enum" in node and value not in node["enum"]) or node.get("const", value) != value:
        return False
    if "pattern" in node and not (isinstance(value, str) and re.search(node["pattern"], value)):
        return False
    if isinstance(value, dict) and "properties" in node:
        properties = node["properties"]
        if set(node.get("required", ())) - set(value) or (
                node.get("additionalProperties") is False and set(value) - set(properties)):
            return False
        return all(_fits(schema, properties[key], item) for key, item in value.items()
                   if key in properties)
    if isinstance(value, list) and "items" in node:
        return all(_fits(schema, node["items"], item) for item in value)
    return True


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_each_schema_is_standalone_and_fits_the_example_files(
        kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    schema: dict[str, Any] = _schema(kind, capsys)
    assert schema["$id"] == f"https://flexor-iac.dev/schemas/{kind}.json"
    for ref in _refs(schema):  # every reference stays inside the document
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"]
    assert EXAMPLES[kind]
    for path in EXAMPLES[kind]:
        example = yaml.safe_load(path.read_text())  # vault.json is YAML too
        assert _fits(schema, schema, example), path
        assert not _fits(schema, schema, {**example, "surplus": 1}), path
        assert not _fits(schema, schema, {k: v for k, v in example.items() if k != "name"}), path


def test_the_agent_schema_finds_a_bad_nested_key(capsys: pytest.CaptureFixture[str]) -> None:
    schema: dict[str, Any] = _schema("agent", capsys)
    agent = yaml.safe_load((REPO / "agents" / "feed-monitor.yaml").read_text())
    assert _fits(schema, schema, agent)
    assert not _fits(schema, schema, {**agent, "trigger": {"type": "hourly"}})
    assert not _fits(schema, schema, {**agent, "retry": {"max_attempts": "2"}})
    assert not _fits(schema, schema, {**agent, "tasks": [{"skill": "x", "capture": "no-dash"}]})


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
