"""What every flexor dynamic provider shares: pure check/diff, full outputs, stable ids."""

from __future__ import annotations

from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)

# The engine's placeholder for a value not known during preview (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROVIDER_KEY = "__provider"


def _contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


def changed_fields(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """Top-level input names whose values differ (the provider's own key excluded)."""
    keys = (set(olds) | set(news)) - {PROVIDER_KEY}
    return sorted(k for k in keys if olds.get(k) != news.get(k) or _contains_unknown(news.get(k)))


class FlexorProvider(ResourceProvider):
    """Base provider: the resource's outputs are its inputs, its id is `<env>/<kind>/<name>`."""

    kind: ClassVar[str] = "resource"
    # Providers capture no secrets, so __provider need not be stored as a secret (cheaper state).
    serialize_as_secret_always = False
    # Changing these fields replaces the resource instead of updating it.
    replace_on: ClassVar[tuple[str, ...]] = ("environment", "name")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Inputs were validated by the program before registration; pass them through."""
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Pure: compare old outputs with new inputs; tolerant of unknowns during preview."""
        fields = changed_fields(olds, news)
        replaces = [f for f in fields if f in self.replace_on]
        return DiffResult(changes=bool(fields), replaces=replaces,
                          delete_before_replace=bool(replaces))

    def resource_id(self, props: dict[str, Any]) -> str:
        """A stable, readable id."""
        return f"{props['environment']}/{self.kind}/{props['name']}"

    def apply(self, props: dict[str, Any]) -> dict[str, Any]:
        """Make the change in the outside world; return the outputs. Overridden per kind."""
        return dict(props)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Apply and record the new resource."""
        return CreateResult(self.resource_id(props), self.apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply and return the complete outputs (the SDK default would drop them)."""
        return UpdateResult(self.apply(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Remove the resource from the outside world. Overridden per kind."""
