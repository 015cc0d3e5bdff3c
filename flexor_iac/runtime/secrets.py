"""`env:VAR` references: resolved only at run time, and scrubbed from everything recorded."""

from __future__ import annotations

import os
from collections.abc import Mapping

PREFIX = "env:"
MASK = "***"


class MissingSecret(LookupError):
    """An `env:` reference to a variable that is not set."""


class Secrets:
    """Resolves references and remembers the values, so records can be scrubbed of them."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._seen: set[str] = set()

    def resolve(self, value: str, setting: str) -> str:
        """A plain value as is; `env:VAR` → the variable's value (remembered as a secret)."""
        if not value.startswith(PREFIX):
            return value
        name = value[len(PREFIX):]
        resolved = self._environ.get(name)
        if not resolved:
            raise MissingSecret(f"{setting} refers to {name}, which is not set")
        self._seen.add(resolved)
        return resolved

    def scrub(self, text: str) -> str:
        """`text` with every resolved secret replaced by `***`."""
        for secret in sorted(self._seen, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text
