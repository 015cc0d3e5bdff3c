"""Turn a pydantic ValidationError into located diagnostics with stable rule ids."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Document, Loc

STEP_TAGS = frozenset({"action", "call", "parallel", "condition", "skill", "end_condition"})
_PATTERN_RULES = {"name": "name-format", "vault": "name-format", "version": "version-format"}
_TYPE_RULES = {
    "extra_forbidden": "schema-unknown-key",
    "missing": "schema-required",
    "too_short": "schema-required",
    "literal_error": "schema-enum",
    "enum": "schema-enum",
    "step_form": "step-form",
    "task_form": "step-form",
    "greater_than": "schema-range",
    "greater_than_equal": "schema-range",
    "less_than_equal": "schema-range",
}


def _child(current: Any, part: Any) -> tuple[bool, Any]:
    """Whether `part` indexes into `current`, and the value there."""
    if isinstance(current, dict) and part in current:
        return True, current[part]
    if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
        return True, current[part]
    return False, None


def _real_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Drop the union tags pydantic puts into `loc`, keeping only keys that exist in the data.

    A step/task union's tag (`action`, `skill`, …) always follows a list index and may also be
    a real key of the item, so it is skipped by position, not by lookup.
    """
    real: list[str | int] = []
    current = data
    after_index = False
    for part in loc:
        if after_index and part in STEP_TAGS:
            after_index = False
            continue
        after_index = isinstance(part, int)
        found, value = _child(current, part)
        if found:
            current = value
            real.append(part)
        elif isinstance(current, dict) and isinstance(part, str):
            real.append(part)  # a missing or unknown key: keep it, it names the problem
            break
    return tuple(real)


def _describe(error: Any, loc: Loc) -> tuple[str, str]:
    kind = error["type"]
    where = ".".join(str(part) for part in loc) or "document"
    if kind == "extra_forbidden":
        return f"unknown key `{loc[-1]}`", "schema-unknown-key"
    if kind == "missing":
        return f"missing required key `{loc[-1]}`", "schema-required"
    if kind == "string_pattern_mismatch":
        rule = _PATTERN_RULES.get(str(loc[-1]) if loc else "", "schema-pattern")
        return f"{where}: {error['input']!r} does not match {error['ctx']['pattern']}", rule
    if kind in ("literal_error", "enum"):
        expected = error["ctx"]["expected"]
        return f"{where}: {error['input']!r} is not one of {expected}", "schema-enum"
    if kind == "too_short":
        return f"{where}: must not be empty", "schema-required"
    if kind == "string_type" and isinstance(error["input"], int | float):
        return (f"{where}: expected a string, got the number {error['input']}; quote it "
                f"(\"{error['input']}\")"), "schema-type"
    rule = _TYPE_RULES.get(kind, "schema-type")
    return f"{where}: {error['msg'][0].lower()}{error['msg'][1:]}", rule


def schema_diagnostics(document: Document, error: ValidationError, within: Loc = ()
                       ) -> list[Diagnostic]:
    """One diagnostic per pydantic error, at the line of the key it concerns.

    `within`: where in the document the validated data sits (the `config:` of a stack file);
    messages name keys relative to it.
    """
    data = document.data
    for part in within:
        data = data.get(part) if isinstance(data, dict) else None
    found = []
    for item in error.errors(include_url=False):
        loc = _real_loc(data, item["loc"])
        message, rule = _describe(item, loc)
        found.append(document.diagnostic((*within, *loc), message, rule))
    return sorted(set(found))
