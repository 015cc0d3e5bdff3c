"""What every flexor dynamic provider shares: pure check/diff, full outputs, stable ids,
and the control plane written in create/update/delete and checked in read (refresh)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from flexor_iac.controlplane.location import is_url
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.engine_lifetime import end_with_engine
from flexor_iac.resources.guard import (
    CONTROL_PLANE_KEY,
    adopted,
    authorize,
    check_plane,
    plane_record,
)
from flexor_iac.resources.refusals import refusals_without_traceback

# The engine's placeholder for a value not known during preview (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROVIDER_KEY = "__provider"
# Output only: whether the control plane held this resource when last applied or refreshed.
APPLIED_KEY = "in_control_plane"
# Output only (Agent): the last distinct versions deployed, for rollback.
RETAINED_KEY = "retained"
NOT_INPUTS = frozenset({PROVIDER_KEY, APPLIED_KEY, RETAINED_KEY, CONTROL_PLANE_KEY})


def _contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


def whole_numbers(value: Any) -> Any:
    """`30.0` → `30`, throughout: Pulumi carries every number as a double, and the runtime
    must see the integers the project's files wrote (a skill input typed `integer`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def changed_fields(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """Input names whose values differ (provider bytes and output-only keys excluded)."""
    keys = (set(olds) | set(news)) - NOT_INPUTS
    found = sorted(k for k in keys if olds.get(k) != news.get(k) or _contains_unknown(news.get(k)))
    if olds.get(APPLIED_KEY) is False:  # a refresh found the control plane lost it
        found.append("control_plane")
    return found


# A team database's store, per provider process: its connection pool serves every operation
# (the engine calls a provider once per resource). An embedded file is opened per operation.
_TEAM_STORES: dict[str, ControlPlane] = {}


@contextmanager
def control_plane() -> Iterator[ControlPlane]:
    """The project's control plane, for one operation."""
    where = locate()
    if is_url(where):
        url = str(where)
        if url not in _TEAM_STORES:
            _TEAM_STORES[url] = ControlPlane(url)
        yield _TEAM_STORES[url]
        return
    store = ControlPlane(where)
    try:
        yield store
    finally:
        store.close()


class FlexorProvider(ResourceProvider):
    """Base provider: outputs are the inputs (+ APPLIED_KEY), ids are `<env>/<kind>/<name>`.

    Subclasses say how to apply, remove and find their resource in the control plane.
    """

    kind: ClassVar[str] = "resource"
    # Providers capture no secrets, so __provider need not be stored as a secret (cheaper state).
    serialize_as_secret_always = False
    # Changing these fields replaces the resource instead of updating it.
    replace_on: ClassVar[tuple[str, ...]] = ("environment", "name")

    def write(self, store: ControlPlane, props: dict[str, Any]) -> None:
        """Record the resource in the control plane."""

    def erase(self, store: ControlPlane, props: dict[str, Any]) -> None:
        """Remove the resource from the control plane."""

    def holds(self, store: ControlPlane, props: dict[str, Any]) -> bool:
        """Whether the control plane holds exactly this resource."""
        return True

    def vaults(self, props: dict[str, Any]) -> tuple[str, ...]:
        """The vaults changing this resource touches (the deployer needs a role on each)."""
        return ()

    def configure(self, _req: ConfigureRequest) -> None:
        """Called once in the provider process: end it with the engine (kill -9 included),
        and have its refusals reported as one line each, without a Python traceback."""
        end_with_engine()
        refusals_without_traceback()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Inputs were validated by the program before registration; pass them through."""
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Pure: compare old outputs with new inputs; tolerant of unknowns during preview."""
        if self.held(olds, news):
            return DiffResult(changes=False)
        fields = changed_fields(self.comparable(olds), news)
        replaces = [f for f in fields if f in self.replace_on]
        return DiffResult(changes=bool(fields), replaces=replaces,
                          delete_before_replace=bool(replaces))

    def comparable(self, olds: dict[str, Any]) -> dict[str, Any]:
        """Old outputs in the shape of inputs, for comparing with new inputs."""
        return olds

    def held(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Whether the deployed state must stay as it is whatever `news` says (a hold)."""
        return False

    def effective(self, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
        """What an update really applies (normally `news`)."""
        return news

    def outputs(self, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
        """The complete outputs after applying `news` over `olds` (None on create)."""
        return {**news, APPLIED_KEY: True}

    def resource_id(self, props: dict[str, Any]) -> str:
        """A stable, readable id."""
        return f"{props['environment']}/{self.kind}/{props['name']}"

    def apply(self, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
        """Check who deploys where, write the control plane; return the complete outputs."""
        props = self.effective(olds, news)
        with control_plane() as store:
            check_plane(store, olds)
            authorize(store, props["environment"], self.vaults(props))
            self.write(store, whole_numbers(props))
            plane = plane_record(store)
        return {**self.outputs(olds, props), CONTROL_PLANE_KEY: plane}

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Apply and record the new resource."""
        return CreateResult(self.resource_id(props), self.apply(None, props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply and return the complete outputs (the SDK default would drop them)."""
        return UpdateResult(self.apply(olds, news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Remove the resource from the control plane (`pulumi destroy` too: key checked)."""
        with control_plane() as store:
            check_plane(store, props)
            authorize(store, props["environment"], self.vaults(props))
            self.erase(store, props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: keep the state, but mark whether the control plane still holds it (a
        stack whose control plane is gone is adopted by this one)."""
        with control_plane() as store:
            plane = adopted(store, props)
            present = self.holds(store, props)
        outputs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
        return ReadResult(id_, {**outputs, APPLIED_KEY: present, CONTROL_PLANE_KEY: plane})
