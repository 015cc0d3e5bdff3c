"""Frozen pydantic models for vault.json, skill YAML, agent YAML and the Pulumi stack files.

Every key of ../shared/spec/config-reference.md is here; unknown keys are errors everywhere.
Cross-file checks (references, tiers, environments) live in flexor_iac.project.validate, not here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from flexor_iac.core.constants import Environment, Tier

VAULT_NAME_PATTERN = r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$"
KEBAB_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
VERSION_PATTERN = r"^\d+(\.\d+)*$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EVENT_NAME_PATTERN = r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$"  # fund.positions.updated

VaultName = Annotated[str, StringConstraints(pattern=VAULT_NAME_PATTERN)]
KebabName = Annotated[str, StringConstraints(pattern=KEBAB_PATTERN)]
Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN)]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
EventName = Annotated[str, StringConstraints(pattern=EVENT_NAME_PATTERN)]
ValueType = Literal["string", "integer", "number", "boolean", "array", "object"]
TriggerType = Literal["schedule", "event", "webhook", "manual"]


def version_key(version: str) -> tuple[int, ...]:
    """Dotted numbers compare as numbers: 1.10 > 1.9."""
    return tuple(int(part) for part in version.split("."))


class Strict(BaseModel):
    """Base: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- vault.json ---------------------------------------------------------------------------------

class DataSettings(Strict):
    catalog: str | None = None
    default_connection_timeout_ms: Annotated[int, Field(gt=0)] = 5000
    max_rows_per_query: Annotated[int, Field(gt=0)] = 10000


# A host name or IP, optionally `:port` (`[IPv6]:port`); a bare IPv6 address has no port.
ALLOWED_HOST_PATTERN = (r"^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$"
                        r"|^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")


class NotificationSettings(Strict):
    default_channel: Literal["slack", "email", "webhook"] = "slack"
    slack_webhook: str | None = None
    email_from: str | None = None
    webhook_url: str | None = None
    allowed_hosts: tuple[Annotated[str, StringConstraints(pattern=ALLOWED_HOST_PATTERN)], ...] = ()


class AuditSettings(Strict):
    enabled: bool = True
    retention_days: Annotated[int, Field(gt=0)] = 90
    destination: str = "vault://audit-log/"
    secondary_destination: str | None = None
    include_inputs: bool = False
    include_outputs: bool = False
    pii_redaction: bool = False
    pii_patterns: tuple[str, ...] = ()


class SyncSettings(Strict):
    auto: bool = False
    pre_run: bool = False


class Permissions(Strict):
    who_can_edit_l2: tuple[str, ...] = ()
    who_can_create_agents: tuple[str, ...] = ()


class VaultConfig(Strict):
    """One vault's vault.json."""

    name: VaultName
    tier: Tier
    environment: Environment
    description: str | None = None
    data: DataSettings = DataSettings()
    notifications: NotificationSettings = NotificationSettings()
    audit: AuditSettings = AuditSettings()
    sync: SyncSettings = SyncSettings()
    permissions: Permissions = Permissions()
    env_allowlist: tuple[Identifier, ...] = ()


# --- steps and tasks ----------------------------------------------------------------------------

class OnError(Strict):
    strategy: Literal["fail", "fallback", "skip", "retry"] = "fail"
    fallback_value: Any = None
    capture: Identifier | None = None
    max_retries: Annotated[int, Field(ge=0)] = 0


class _Invocation(Strict):
    args: dict[str, Any] = {}
    capture: Identifier | None = None
    on_error: OnError | None = None
    optional: bool = False


class ActionStep(_Invocation):
    action: str


class CallStep(_Invocation):
    call: str


class ConditionStep(Strict):
    condition: str


class ParallelStep(Strict):
    parallel: Annotated[list[SkillStep], Field(min_length=1)]


EndCondition = Literal["end_condition"]


def _step_form(value: Any) -> str | None:
    """Which step form a list item is, by the key it carries (None: no known form)."""
    if value == "end_condition":
        return "end_condition"
    if isinstance(value, dict):
        for key in ("action", "call", "parallel", "condition", "skill"):
            if key in value:
                return key
    elif isinstance(value, BaseModel):
        return {ActionStep: "action", CallStep: "call", ParallelStep: "parallel",
                ConditionStep: "condition", SkillTask: "skill"}.get(type(value))
    return None


_STEP_ERROR = {
    "custom_error_type": "step_form",
    "custom_error_message": "a step needs one of `action`, `call`, `parallel`, `condition`, "
    "or is the word `end_condition`",
}
SkillStep = Annotated[
    Annotated[ActionStep, Tag("action")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[ParallelStep, Tag("parallel")]
    | Annotated[ConditionStep, Tag("condition")]
    | Annotated[EndCondition, Tag("end_condition")],
    Discriminator(_step_form, **_STEP_ERROR),
]


class SkillTask(_Invocation):
    skill: str


_TASK_ERROR = {
    "custom_error_type": "task_form",
    "custom_error_message": "a task needs `skill` or `condition`, or is the word `end_condition`",
}
AgentTask = Annotated[
    Annotated[SkillTask, Tag("skill")]
    | Annotated[ConditionStep, Tag("condition")]
    | Annotated[EndCondition, Tag("end_condition")],
    Discriminator(_step_form, **_TASK_ERROR),
]


# --- skill YAML ---------------------------------------------------------------------------------

class InputSpec(Strict):
    type: ValueType
    required: bool = False
    default: Any = None
    description: str | None = None


class OutputSpec(Strict):
    type: ValueType
    description: str | None = None


class SkillSpec(Strict):
    """One skill file under vaults/<dir>/skills/."""

    name: KebabName
    version: Version
    description: str
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    replaces: str | None = None
    inputs: dict[Identifier, InputSpec] = {}
    outputs: dict[Identifier, OutputSpec] = {}
    steps: Annotated[list[SkillStep], Field(min_length=1)]


# --- agent YAML ---------------------------------------------------------------------------------

class Trigger(Strict):
    type: TriggerType
    cron: str | None = None
    timezone: str = "UTC"
    catch_up: bool = True  # schedule: fire one missed tick when `flexor serve` starts late
    source: str | None = None
    event: EventName | None = None
    filter: dict[str, Any] | None = None
    path: str | None = None


class RetryPolicy(Strict):
    max_attempts: Annotated[int, Field(ge=1)] = 1
    backoff_seconds: Annotated[float, Field(ge=0)] = 0
    on_final_failure: Literal["notify_ops", "pause", "none"] = "none"


class AgentSpec(Strict):
    """One agent file under agents/."""

    name: KebabName
    version: Version
    description: str
    owner: str
    vault: VaultName | None = None
    environment: Environment
    trigger: Trigger
    retry: RetryPolicy = RetryPolicy()
    # Per attempt; unset means the runtime's default (300 s). None, not 300, so that agents
    # deployed before this key existed keep an unchanged spec.
    timeout_seconds: Annotated[float, Field(gt=0, le=86400)] | None = None
    tasks: Annotated[list[AgentTask], Field(min_length=1)]
    system_prompt: str | None = None
    tools: list[Any] | None = None


# --- Pulumi files -------------------------------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class MaintenanceWindow(Strict):
    """When a managed production change may be applied (wall-clock times in `timezone`)."""

    days: Annotated[tuple[Weekday, ...], Field(min_length=1)]
    start: ClockTime
    end: ClockTime
    timezone: str = "America/New_York"


class FlexorStackSettings(Strict):
    """The `flexor:` keys of one Pulumi.<env>.yaml's `config:` (validated with the namespace)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              alias_generator=lambda field: f"flexor:{field}")

    environment: Environment | None = None
    catalog: str | None = None
    triggers: tuple[TriggerType, ...] | None = None
    controlPlane: str = "embedded"
    maintenanceWindows: tuple[MaintenanceWindow, ...] | None = None
    managed: bool = False
    engagementTier: str | None = None
    requireApiKey: bool | None = None
