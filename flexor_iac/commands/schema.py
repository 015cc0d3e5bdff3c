"""`flexor schema`: JSON Schemas of agent, skill and vault files, from the models (for editors).

Each schema is a standalone JSON Schema (draft 2020-12) with a stable `$id`,
`https://flexor-iac.dev/schemas/<kind>.json`: an identifier, not a download location. Without
a kind, the three are printed as one schema document that bundles them (2020-12's compound
document: each under `$defs` keeps its own `$id`) and accepts any of the three file kinds.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from flexor_iac.core.constants import ExitCode
from flexor_iac.core.output import Console
from flexor_iac.project.models import AgentSpec, SkillSpec, VaultConfig

MODELS: dict[str, type[BaseModel]] = {"agent": AgentSpec, "skill": SkillSpec, "vault": VaultConfig}
TITLES = {"agent": "Flexor agent file (agents/<name>.yaml)",
          "skill": "Flexor skill file (vaults/<dir>/skills/<name>.yaml)",
          "vault": "Flexor vault configuration (vaults/<dir>/vault.json)"}
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://flexor-iac.dev/schemas/"
BUNDLE = "flexor"


def schema_id(kind: str) -> str:
    """The `$id` of one kind's schema (`flexor` for the bundle of all three)."""
    return f"{ID_BASE}{kind}.json"


def schema_of(kind: str) -> dict[str, Any]:
    """The standalone JSON Schema of one file kind."""
    schema = MODELS[kind].model_json_schema(mode="validation")
    return {"$schema": DIALECT, "$id": schema_id(kind), **schema, "title": TITLES[kind]}


def bundle() -> dict[str, Any]:
    """All three schemas in one schema document, which accepts a file of any of the kinds."""
    return {
        "$schema": DIALECT,
        "$id": schema_id(BUNDLE),
        "title": "Flexor project files (agent, skill, vault)",
        "anyOf": [{"$ref": f"{kind}.json"} for kind in MODELS],
        "$defs": {kind: schema_of(kind) for kind in MODELS},
    }


def run(kind: str | None, console: Console) -> int:
    """Print one kind's schema, or the bundle of all three."""
    document = schema_of(kind) if kind else bundle()
    # Always JSON: it is what editors read; --json changes nothing here.
    print(json.dumps(document, indent=2), file=console.out)
    return ExitCode.OK
