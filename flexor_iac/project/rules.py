"""Every rule id `flexor validate` reports, with what it checks (docs/troubleshooting.md lists
the same, with the fix of each)."""

from __future__ import annotations

from types import MappingProxyType

RULES: MappingProxyType[str, str] = MappingProxyType({
    # reading files
    "file-empty": "the file is empty or holds only comments",
    "file-binary": "the file is not text",
    "file-encoding": "the file is not UTF-8",
    "file-too-large": "the file is over 1 MiB",
    "file-unreadable": "the file cannot be read",
    "file-not-regular": "a FIFO, device or socket, or a symbolic link leading out of its vault "
                        "(or the project): never read, never in a snapshot",
    "yaml-syntax": "the YAML does not parse",
    "yaml-duplicate-key": "a mapping repeats a key",
    "yaml-too-large": "aliases expand to too many values (alias bomb)",
    "yaml-too-deep": "nesting deeper than 64 levels",
    "json-syntax": "vault.json is not valid JSON",
    "json-too-deep": "vault.json nesting deeper than 64 levels",
    # schema
    "schema-unknown-key": "a key the file format does not have",
    "schema-required": "a required key is missing or empty",
    "schema-type": "a value has the wrong type",
    "schema-enum": "a value is not one of the allowed words",
    "schema-range": "a number is out of range",
    "schema-pattern": "a value does not have the required form",
    "name-format": "agent/skill names are kebab-case; vault names letters, digits, hyphens",
    "version-format": "versions are dotted numbers in a string (\"1.2\")",
    "step-form": "a step or task is not one of the known forms",
    # project structure
    "vault-missing-config": "a vaults/ directory without vault.json",
    "vault-tier-l1": "L1 is the platform tier and may not be in a project",
    "vault-unknown": "an agent names a vault that does not exist",
    "vault-missing": "an agent names no vault and there is no flexor:defaultVault",
    "duplicate-agent": "two agents with one name",
    "duplicate-skill": "two skills with one name in one tier",
    "duplicate-vault": "two vaults with one name",
    "environment-reach": "an agent claims an environment its vault may not reach",
    "env-ref-format": "an `env:` reference is not env:VARIABLE_NAME",
    "pii-pattern-invalid": "an audit.pii_patterns entry is not a regular expression",
    "catalog-missing": "an agent uses plexifact.* in an environment whose stack sets no "
                       "flexor:catalog",
    "catalog-environment": "a vault's data.catalog is not the flexor:catalog of an environment "
                           "it is deployed to",
    "catalog-uri": "a flexor:catalog or data.catalog that is not plexifact://<host>/<name> "
                   "(no `..`, query or credentials)",
    "url-invalid": "a notification URL that is not http(s) (or env:VARIABLE)",
    "pulumi-project-name": "Pulumi.yaml must name the project `flexor`",
    "pulumi-runtime": "Pulumi.yaml's runtime is not python",
    "default-vault-unknown": "flexor:defaultVault names a vault that does not exist",
    "stack-missing": "a Pulumi.<env>.yaml is missing",
    "stack-environment": "a stack file names another environment",
    "window-invalid": "a maintenance window that does not end after it starts",
    # triggers
    "trigger-keys": "trigger keys that do not fit the trigger type",
    "cron-invalid": "not a valid 5-field cron expression",
    "timezone-invalid": "not an IANA time zone",
    "webhook-path": "a webhook trigger's path is not absolute and plain, or is the server's own",
    "webhook-path-duplicate": "two webhook agents listen on one path in one environment",
    # tasks, steps, templates
    "condition-balance": "condition … end_condition blocks do not match",
    "template-syntax": "a {{ … }} template does not parse",
    "env-not-allowed": "a template reads env.X that the vault's env_allowlist lacks",
    "skill-unresolved": "a skill does not resolve in an environment that needs it",
    "action-unknown": "not a standard-library action",
    "skill-args-unknown": "an argument the skill or action does not take",
    "skill-args-missing": "a required skill input is not given",
    "skill-args-type": "a literal argument has the wrong type for the input",
    "skill-cycle": "skills call each other in a cycle",
    "skill-deprecated": "a deprecated skill is used (warning)",
})
