"""Triggers: keys that fit the type, 5-field cron expressions, IANA time zones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from flexor_iac.project.checks.context import CheckContext
from flexor_iac.project.checks.references import with_article
from flexor_iac.project.diagnostics import Diagnostic

# Keys each trigger type requires / forbids (timezone is allowed with any type).
REQUIRED = {"schedule": ("cron",), "event": ("source", "event"), "webhook": (), "manual": ()}
ONLY_FOR = {"cron": "schedule", "source": "event", "event": "event", "filter": "event",
            "path": "webhook"}
CRON_FIELDS = "minute hour day-of-month month day-of-week"
# Each cron field with the largest step it can take (its highest value minus its lowest): a
# wider step only ever matches its start, so `*/61` is not "every 61 minutes". cronsim takes any
# step; crontab (cronie) refuses these.
CRON_STEPS = tuple(zip(CRON_FIELDS.split(), (59, 23, 30, 11, 7), strict=True))


@lru_cache(maxsize=4096)
def cron_problem(expression: str) -> str | None:
    """Why a cron expression is not a valid 5-field one (None: it is)."""
    fields = expression.split()
    if len(fields) != 5:
        return f"cron expression {expression!r} has {len(fields)} fields; expected 5 " \
               f"({CRON_FIELDS})"
    try:
        CronSim(expression, datetime(2026, 1, 1))
    except CronSimError as error:
        return f"invalid cron expression {expression!r}: {error}"
    except ValueError:  # cronsim's int() of a number thousands of digits long
        return f"invalid cron expression {expression!r}: a number in it is too long"
    for text, (name, most) in zip(fields, CRON_STEPS, strict=True):
        for item in text.split(","):
            if (step := item.partition("/")[2]).isdecimal() and int(step) > most:
                return f"invalid cron expression {expression!r}: {name} step {step} is out " \
                       f"of range (at most {most})"
    return None


@lru_cache(maxsize=1024)
def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone zoneinfo can load."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """trigger-keys, cron-invalid, timezone-invalid."""
    for agent in ctx.project.agents:
        trigger = agent.spec.trigger
        given = trigger.model_dump(exclude_none=True, exclude_defaults=True)
        for key in REQUIRED[trigger.type]:
            if key not in given:
                yield ctx.at(agent.path, ("trigger", "type"), f"{with_article(trigger.type)} "
                             f"trigger needs `{key}`", "trigger-keys")
        for key, owner in ONLY_FOR.items():
            if key in given and owner != trigger.type:
                yield ctx.at(agent.path, ("trigger", key), f"`{key}` belongs to {owner} "
                             f"triggers, not {trigger.type}", "trigger-keys")
        if trigger.cron is not None and (problem := cron_problem(trigger.cron)):
            yield ctx.at(agent.path, ("trigger", "cron"), problem, "cron-invalid")
        if not known_zone(trigger.timezone):
            yield ctx.at(agent.path, ("trigger", "timezone"), f"unknown time zone "
                         f"{trigger.timezone!r} (expected an IANA name such as "
                         "America/New_York)", "timezone-invalid")
