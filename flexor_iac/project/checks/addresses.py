"""Addresses: catalog URIs, notification URLs and webhook paths (project/addresses.py says
what each must look like)."""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.project.addresses import (
    catalog_uri_problem,
    default_webhook_path,
    web_url_problem,
    webhook_path_problem,
)
from flexor_iac.project.checks.context import CheckContext
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.loading import AgentSource

NOTIFICATION_URLS = ("slack_webhook", "webhook_url")


def _catalogs(ctx: CheckContext) -> Iterator[Diagnostic]:
    for stack in ctx.project.stacks.values():
        uri = stack.settings.catalog
        if uri is not None and (problem := catalog_uri_problem(uri)):
            yield ctx.at(stack.path, ("config", "flexor:catalog"), problem, "catalog-uri")
    for vault in ctx.project.vaults:
        uri = vault.config.data.catalog
        if uri is not None and (problem := catalog_uri_problem(uri)):
            yield ctx.at(vault.path, ("data", "catalog"), problem, "catalog-uri")


def _notification_urls(ctx: CheckContext) -> Iterator[Diagnostic]:
    for vault in ctx.project.vaults:
        for key in NOTIFICATION_URLS:
            url = getattr(vault.config.notifications, key)
            if url is not None and (problem := web_url_problem(url)):
                yield ctx.at(vault.path, ("notifications", key), problem, "url-invalid")


def _webhook_paths(ctx: CheckContext) -> Iterator[Diagnostic]:
    listening: dict[str, list[AgentSource]] = {}
    for agent in ctx.project.agents:
        trigger = agent.spec.trigger
        if trigger.type != "webhook":  # a path there is a trigger-keys error
            continue
        if trigger.path is not None and (problem := webhook_path_problem(trigger.path)):
            yield ctx.at(agent.path, ("trigger", "path"), problem, "webhook-path")
            continue
        listening.setdefault(trigger.path or default_webhook_path(agent.spec.name),
                             []).append(agent)
    for path, agents in listening.items():
        for index, later in enumerate(agents):
            reach = set(ctx.agent_environments(later))
            for earlier in agents[:index]:
                both = reach & set(ctx.agent_environments(earlier))
                if both:
                    shared = ", ".join(env.value for env in ctx.environments if env in both)
                    yield ctx.at(later.path, ("trigger", "path"), f"webhook path {path} is "
                                 f"also agent {earlier.spec.name}'s in {shared}; give each "
                                 "agent its own `path`", "webhook-path-duplicate")
                    break


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """catalog-uri, url-invalid, webhook-path, webhook-path-duplicate."""
    yield from _catalogs(ctx)
    yield from _notification_urls(ctx)
    yield from _webhook_paths(ctx)
