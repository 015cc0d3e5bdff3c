"""Files that make a directory a Flexor project (`flexor init`), runnable by `pulumi` directly."""

from __future__ import annotations

from pathlib import Path

# A project outside this repository points Pulumi.yaml `main:` at this one-line program,
# which runs the installed flexor_iac program (this repository points at
# flexor_iac/program.py).
PROGRAM_FILE = "__main__.py"
PROGRAM_TEXT = '''"""This Flexor project's Pulumi program (Pulumi.yaml `main:`)."""

from flexor_iac.program import run_for_stack

run_for_stack()
'''

PULUMI_YAML = """\
# A Flexor project: `flexor deploy --env <env>`, or `pulumi preview --stack <env>` with a Python
# that has flexor-iac installed first on PATH.
name: flexor
description: Flexor agents deployed with flexor-iac
runtime:
  name: python
  options:
    toolchain: pip
main: __main__.py
backend:
  url: file://.flexor/state
config:
  flexor:defaultVault: {vault}
"""

STACK_YAML = """\
config:
  flexor:environment: {env}
  flexor:catalog: {catalog}
  flexor:triggers: {triggers}
"""

# Each environment reads only its own PlexiFact catalog (docs/decisions/009); production's is
# the live catalog, named as in the vendor's documentation and the example project.
CATALOGS = {"sandbox": "plexifact://sandbox/catalog", "staging": "plexifact://staging/catalog",
            "production": "plexifact://prod/catalog"}

VAULT_JSON = """\
{{
  "name": "{vault}",
  "tier": "L4",
  "environment": "production",
  "description": "Project vault created by flexor init"
}}
"""

SKILL_YAML = """\
name: say-hello
version: "1.0"
description: "Returns a greeting for a name."
inputs:
  who:
    type: string
    required: true
outputs:
  greeting:
    type: string
steps:
  - action: core.logic.set_output
    args:
      greeting: "Hello, {{ inputs.who }}!"
"""

AGENT_YAML = """\
name: hello-agent
version: "1.0"
description: "A first agent: greets and writes an audit entry."
owner: "ops-team"
vault: {vault}
environment: sandbox
trigger:
  type: manual
tasks:
  - skill: say-hello
    args:
      who: "Flexor"
    capture: hello
  - skill: core.audit.log
    args:
      event: "hello"
      result: "{{{{ hello.greeting }}}}"
"""

GITIGNORE = ".flexor/\n__pycache__/\n"


def project_files(vault: str) -> dict[str, str]:
    """Relative path → content of a new project with one vault, one skill and one agent."""
    triggers = {"sandbox": "[manual]", "staging": "[schedule, event, webhook, manual]",
                "production": "[schedule, event, webhook, manual]"}
    files = {
        "Pulumi.yaml": PULUMI_YAML.format(vault=vault),
        PROGRAM_FILE: PROGRAM_TEXT,
        ".gitignore": GITIGNORE,
        f"vaults/{vault}/vault.json": VAULT_JSON.format(vault=vault),
        f"vaults/{vault}/skills/say-hello.yaml": SKILL_YAML,
        f"vaults/{vault}/knowledge/README.md": f"# {vault} knowledge\n",
        f"vaults/{vault}/rules/README.md": f"# {vault} rules\n",
        "agents/hello-agent.yaml": AGENT_YAML.format(vault=vault),
    }
    for env, enabled in triggers.items():
        files[f"Pulumi.{env}.yaml"] = STACK_YAML.format(env=env, catalog=CATALOGS[env],
                                                        triggers=enabled)
    return files


def write_project(root: Path, vault: str) -> list[str]:
    """Write the scaffold into `root` (which must not hold a project); returns what was written."""
    files = project_files(vault)
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return sorted(files)
