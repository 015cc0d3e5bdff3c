"""What a run records: the one redaction path for its record, log lines and outbox messages.

Rules: resolved secrets are masked (`***`) everywhere; values of the vault's `env_allowlist`
variables are never recorded (`[ENV]`); input values (`inputs`, `event`) are kept only with
`audit.include_inputs` (else `[INPUT]`); `audit.pii_patterns` (with `pii_redaction`) replace
what they match in every string kept (`[REDACTED]`). In decisions the names stay, so a reader
knows what a condition consulted. In free text a value is recognised by its characters, so
only values of at least MIN_QUOTED characters are masked there (shorter ones would mangle
ordinary words and numbers); decisions and the `inputs` field are redacted by origin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.language.templates import facts
from flexor_iac.project.models import AuditSettings
from flexor_iac.runtime.secrets import Secrets

REDACTED = "[REDACTED]"
ENV = "[ENV]"
INPUT = "[INPUT]"
MIN_QUOTED = 8
INPUT_SOURCES = ("inputs", "event")  # `event` carries the inputs of a manual run


def _strings(value: Any) -> Iterator[str]:
    """The strings (and numbers, as written) inside a value."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def _quotable(values: Any, marker: str) -> dict[str, str]:
    return {text: marker for text in _strings(values) if len(text) >= MIN_QUOTED}


class Redactor:
    """Applies the vault's audit settings, the run's secrets, env values and inputs."""

    def __init__(self, audit: AuditSettings, secrets: Secrets,
                 env: Mapping[str, str] | None = None,
                 inputs: Mapping[str, Any] | None = None) -> None:
        self.audit = audit
        self.secrets = secrets
        self.patterns = [re.compile(p) for p in audit.pii_patterns] if audit.pii_redaction else []
        self._env = _quotable(dict(env or {}), ENV)
        withheld = {} if audit.include_inputs else _quotable(dict(inputs or {}), INPUT)
        self._withheld = {**withheld, **self._env}  # an env value wins over an equal input

    def _clean(self, text: str, values: Mapping[str, str]) -> str:
        text = self.secrets.scrub(text)
        for value in sorted(values, key=len, reverse=True):
            text = text.replace(value, values[value])
        for pattern in self.patterns:
            text = pattern.sub(REDACTED, text)
        return text

    def text(self, text: str) -> str:
        """Runtime text (log lines, errors, messages): env values and withheld inputs masked."""
        return self._clean(text, self._withheld)

    def value(self, value: Any) -> Any:
        """A value kept in the record (outputs, decision values): env values masked."""
        return _deep(value, lambda text: self._clean(text, self._env))

    def message(self, value: Any) -> Any:
        """An outbox message or target, by the rules of runtime text."""
        return _deep(value, self.text)

    def outputs(self, captures: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
        """The entry's `outputs`: `core.audit.log` events always, captures if include_outputs."""
        summary: dict[str, Any] = {"audit_log": self.value(events)}
        summary["captures"] = self.value(captures) if self.audit.include_outputs else REDACTED
        return summary

    def inputs(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The run's inputs, only with include_inputs."""
        return self.value(inputs) if self.audit.include_inputs else None

    def decisions(self, decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Conditions with the values they read: env by name only, inputs per include_inputs."""
        return [{**{key: self.value(item) for key, item in decision.items() if key != "values"},
                 "values": self._read(str(decision.get("condition", "")),
                                      decision.get("values") or {})}
                for decision in decisions]

    def _read(self, condition: str, values: Mapping[str, Any]) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for name, value in values.items():
            if name == "env":
                available = value if isinstance(value, Mapping) else {}
                read = facts(condition).env_reads or frozenset(available)
                kept[name] = {var: ENV if var in available else None for var in sorted(read)}
            elif name in INPUT_SOURCES and not self.audit.include_inputs:
                kept[name] = ({key: INPUT for key in value} if isinstance(value, Mapping)
                              else INPUT)
            else:
                kept[name] = self.value(value)
        return kept

    def run(self, raw: RunRecord) -> RunRecord:
        """The record to store and show: every field a run fills, through these rules.

        `raw.outputs` is `{"captures": …, "audit_log": […]}` as the run left them.
        """
        outputs = raw.outputs or {}
        return replace(raw, outputs=self.outputs(outputs.get("captures", {}),
                                                 outputs.get("audit_log", [])),
                       decisions=self.decisions(raw.decisions),
                       errors=[self.text(error) for error in raw.errors],
                       inputs=self.inputs(raw.inputs or {}))


def _deep(value: Any, clean: Callable[[str], str]) -> Any:
    """`value` with `clean` applied to every string inside dicts and lists."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {key: _deep(item, clean) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(item, clean) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return clean(str(value))
