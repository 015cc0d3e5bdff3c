"""Skill inputs and outputs: typed, with defaults (the `type` words of the config reference)."""

from __future__ import annotations

import re
from typing import Any

from flexor_iac.project.models import SkillSpec

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list, tuple), "object": (dict,)}


class InputProblem(ValueError):
    """An argument or output that does not fit the skill's declaration."""


def conforms(value: Any, type_name: str) -> bool:
    """Whether `value` has the declared type (a boolean is not a number)."""
    if isinstance(value, bool) and type_name in ("integer", "number"):
        return False
    return isinstance(value, _PYTHON_TYPES[type_name])


def coerce(value: Any, type_name: str) -> Any:
    """Text that plainly spells a number or boolean (`--input n=3`) as that; `30.0` as 30."""
    if type_name == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if type_name == "integer" and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if type_name == "number" and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return float(text)
    if type_name == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return value


def bind_inputs(spec: SkillSpec, args: dict[str, Any]) -> dict[str, Any]:
    """The skill's inputs from `args`: unknown names refused, required ones present, typed."""
    if unknown := sorted(set(args) - set(spec.inputs)):
        raise InputProblem(f"skill {spec.name} has no input {', '.join(unknown)}")
    bound: dict[str, Any] = {}
    for name, declared in spec.inputs.items():
        if name not in args or args[name] is None:
            if declared.required:
                raise InputProblem(f"skill {spec.name} needs input {name}")
            bound[name] = declared.default
            continue
        value = coerce(args[name], declared.type)
        if not conforms(value, declared.type):
            raise InputProblem(f"input {name} of skill {spec.name} must be {declared.type}, "
                               f"got {type(value).__name__} {value!r}")
        bound[name] = value
    return bound


def check_outputs(spec: SkillSpec, outputs: dict[str, Any]) -> None:
    """Every declared output set, with its declared type (coercing plain text)."""
    for name, declared in spec.outputs.items():
        if name not in outputs:
            raise InputProblem(f"skill {spec.name} did not set output {name}")
        value = coerce(outputs[name], declared.type)
        if not conforms(value, declared.type):
            raise InputProblem(f"output {name} of skill {spec.name} must be {declared.type}, "
                               f"got {type(value).__name__} {value!r}")
        outputs[name] = value
