"""A `flexor:` setting of Pulumi.yaml's `config` (`flexor:database`, `flexor:server`), read
before anything else is known about the project (where its control plane is, which server to
ask). The file is read as project files are (project/documents.py: a regular file, at most
1 MiB, the C parser, bounded depth and nodes); a file that cannot be read has no settings:
validate reports it."""

from __future__ import annotations

from pathlib import Path

from flexor_iac.project.documents import Document, read_document


def pulumi_yaml_setting(root: Path, key: str) -> str | None:
    """Pulumi.yaml's `config[key]` under `root` (its plain or `{value|default: …}` form), or
    None when it is not set or the file is missing or broken."""
    document = read_document(root / "Pulumi.yaml", "Pulumi.yaml")
    if not isinstance(document, Document) or not isinstance(document.data, dict):
        return None
    config = document.data.get("config")
    value = config.get(key) if isinstance(config, dict) else None
    if isinstance(value, dict):  # the project-config form: {value: ..., description: ...}
        value = value.get("value") or value.get("default")
    return str(value) if value else None
