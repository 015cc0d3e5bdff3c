"""What a run record keeps: secrets scrubbed always, PII patterns per vault.json `audit.*`."""

from __future__ import annotations

import re
from typing import Any

from flexor_iac.config.models import AuditSettings
from flexor_iac.runtime.secrets import Secrets

REDACTED = "[REDACTED]"


class Redactor:
    """Applies the vault's audit settings and the run's secrets to recorded text and values."""

    def __init__(self, audit: AuditSettings, secrets: Secrets) -> None:
        self.audit = audit
        self.secrets = secrets
        self.patterns = [re.compile(p) for p in audit.pii_patterns] if audit.pii_redaction else []

    def text(self, text: str) -> str:
        """A recorded string: secrets masked, PII patterns replaced."""
        text = self.secrets.scrub(text)
        for pattern in self.patterns:
            text = pattern.sub(REDACTED, text)
        return text

    def value(self, value: Any) -> Any:
        """A recorded value, strings inside dicts and lists included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))

    def outputs(self, captures: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
        """The entry's `outputs`: `core.audit.log` events always, captures if include_outputs."""
        summary: dict[str, Any] = {"audit_log": self.value(events)}
        summary["captures"] = self.value(captures) if self.audit.include_outputs else REDACTED
        return summary

    def inputs(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The run's inputs, only with include_inputs."""
        return self.value(inputs) if self.audit.include_inputs else None
