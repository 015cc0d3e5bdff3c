"""`flexor schema`: JSON Schemas of agent, skill and vault files, from the models (for editors)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from flexor_iac.config.models import AgentSpec, SkillSpec, VaultConfig
from flexor_iac.constants import ExitCode
from flexor_iac.output import Console

MODELS: dict[str, type[BaseModel]] = {"agent": AgentSpec, "skill": SkillSpec, "vault": VaultConfig}
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_of(kind: str) -> dict[str, Any]:
    """The JSON Schema of one file kind."""
    schema = MODELS[kind].model_json_schema(mode="validation")
    return {"$schema": DIALECT, **schema}


def run(kind: str | None, console: Console) -> int:
    """Print one schema, or all three keyed by kind."""
    document = schema_of(kind) if kind else {name: schema_of(name) for name in MODELS}
    # Always JSON: it is what editors read; --json changes nothing here.
    print(json.dumps(document, indent=2), file=console.out)
    return ExitCode.OK
