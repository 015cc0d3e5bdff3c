"""`flexor deploy`: validate → preview → plan → (dry run stops) → confirm → up → result.

Every refusal (declaration, unsynced vault, version not bumped, a running operation) happens
before anything is applied, with exit 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flexor_iac import clock, deployment
from flexor_iac import plan as plans
from flexor_iac.access import managed, windows
from flexor_iac.access.policy import Gate
from flexor_iac.actor import local_actor
from flexor_iac.commands.validate import report
from flexor_iac.config.diagnostics import has_errors
from flexor_iac.constants import Environment, ExitCode
from flexor_iac.controlplane.access import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.errors import PolicyRefusal, UsageError
from flexor_iac.output import Console
from flexor_iac.program import agent_vaults, declare
from flexor_iac.snapshots import publish
from flexor_iac.stacks import ResourceStep, StackSession
from flexor_iac.toolchain import pulumi_bin_dir
from flexor_iac.validate import validate_project
from flexor_iac.workspace import ProjectPaths

Confirm = Callable[[str], bool]
# Environments where a changed agent must carry a new version.
VERSIONED = (Environment.STAGING, Environment.PRODUCTION)


@dataclass(frozen=True)
class DeployRequest:
    """What the operator asked for."""

    env: Environment
    agents: tuple[str, ...] = ()
    dry_run: bool = False
    yes: bool = False
    refresh: bool = False
    detailed_exitcode: bool = False
    request_id: str | None = None


def _targets(session: StackSession, view: deployment.DeploymentView,
             agents: tuple[str, ...]) -> list[str]:
    """URNs for --agent: the agents plus the binding and vault scopes they depend on."""
    if not agents:
        return []
    eligible = {a.spec.name: a for a in view.selection.agents}
    skipped = {s.name: s.reason for s in view.selection.skipped if s.kind == "agent"}
    urns = [session.urn("EnvironmentBinding", view.environment.value)]
    vaults: set[str] = set()
    for name in agents:
        if name in skipped:
            raise PolicyRefusal(f"refused: agent {name} cannot be deployed to "
                                f"{view.environment.value}: {skipped[name]}")
        if name not in eligible:
            raise UsageError(f"no agent named {name!r} in this project")
        urns.append(session.urn("Agent", name))
        vaults |= agent_vaults(view.project, eligible[name], view.environment)
    in_scope = {v.config.name for v in view.selection.vaults}
    return urns + [session.urn("VaultTierScope", v) for v in sorted(vaults & in_scope)]


def check_versions(plan: plans.Plan) -> None:
    """Refuse an agent whose own spec changed while its version did not.

    Skill changes are not refused: a skill carries its own version, recorded with the agent.
    """
    if plan.environment not in VERSIONED:
        return
    for change in plan.changes:
        content = [f for f in change.fields if f.startswith("spec.") or f == "vault"]
        if change.kind == "Agent" and change.op == "update" and content \
                and change.from_version == change.to_version:
            raise PolicyRefusal(
                f"refused: agent {change.name} changed ({', '.join(content)}) but its version is "
                f"still {change.to_version}; bump `version` in its file to deploy to "
                f"{plan.environment.value}")


def _progress(console: Console) -> Callable[[ResourceStep], None]:
    def show(step: ResourceStep) -> None:
        if step.op != "same":
            console.progress(f"  {plans.SYMBOLS.get(step.op, '?')} {step.kind} {step.name} done")
    return show


def _view(paths: ProjectPaths, env: Environment, console: Console,
          dry_run: bool = False) -> deployment.DeploymentView | None:
    """Validate and bind snapshots; None (after reporting) when the project has errors.

    A dry run changes nothing anywhere: it reads the parse cache but does not update it.
    """
    project, diagnostics = validate_project(paths.root, (env,),
                                            cache="read" if dry_run else "use")
    report(console, diagnostics)
    if has_errors(diagnostics):
        console.error("the project has errors; nothing was deployed")
        return None
    with ControlPlane(locate(paths.root)) as store:
        view = deployment.view(paths, project, env, store)
    console.debug(f"toolchain: {pulumi_bin_dir()}; control plane: {locate(paths.root)}")
    for vault, digest in sorted(view.snapshots.items()):
        console.debug(f"vault {vault}: binds snapshot {digest}")
    report(console, list(view.diagnostics))
    if has_errors(list(view.diagnostics)):
        console.error("a bound vault snapshot has errors; nothing was deployed")
        return None
    for warning in view.warnings:
        console.warning(warning)
    return view


def _preview(view: deployment.DeploymentView, session: StackSession, targets: list[str],
             refresh: bool, console: Console) -> plans.Plan:
    console.progress(f"Previewing {view.environment.value} …")
    plan = plans.build_plan(view.environment, session.preview(targets, refresh=refresh),
                            view.selection.skipped)
    check_versions(plan)
    plans.render(plan, console)
    return plan


def _session(paths: ProjectPaths, view: deployment.DeploymentView) -> StackSession:
    def program() -> None:
        declare(view)
    return StackSession(paths, view.environment, program)


def _managed(view: deployment.DeploymentView) -> bool:
    """Whether this is a PLEXI-managed production (changes go through requests)."""
    stack = view.project.stacks.get(view.environment)
    return (view.environment is Environment.PRODUCTION
            and managed.is_managed(stack.settings if stack else None))


def _authorize(paths: ProjectPaths, view: deployment.DeploymentView,
               request: DeployRequest) -> DeploymentRequest | None:
    """Key, roles and the managed-production rules; the request being applied, if any."""
    env = view.environment
    if request.request_id and not _managed(view):
        raise UsageError("--request applies only to a PLEXI-managed production stack")
    with ControlPlane(locate(paths.root)) as store:
        gate = Gate(paths.root, store)
        principal = gate.require("deploy", env)
        gate.require_deploy_roles(principal, [v.config.name for v in view.selection.vaults], env)
        if not request.request_id:
            return None
        applying = managed.found(store.request(request.request_id), request.request_id)
    if not request.dry_run:  # a dry run may look at a request's plan at any time
        stack = view.project.stacks.get(env)
        managed.check_apply(applying, stack.settings if stack else None, clock.now())
    return applying


def run(paths: ProjectPaths, request: DeployRequest, console: Console, confirm: Confirm) -> int:
    """Deploy the project to one environment; returns the exit code."""
    env = request.env
    if (view := _view(paths, env, console, request.dry_run)) is None:
        return ExitCode.FAILED
    applying = _authorize(paths, view, request)
    session = _session(paths, view)
    targets = _targets(session, view, request.agents)
    plan = _preview(view, session, targets, request.refresh, console)
    if applying is not None:
        managed.check_same_plan(applying, plan)
    if request.dry_run or not plan.has_changes:
        console.document({**plans.to_json(plan), "applied": False})
        changed = plan.has_changes and request.detailed_exitcode and request.dry_run
        return ExitCode.CHANGES_PRESENT if changed else ExitCode.OK
    if console.interactive and not request.yes and not confirm(
            f"Deploy these changes to {env.value}?"):
        console.error("deploy cancelled; nothing was applied")
        return ExitCode.FAILED
    if applying is None and _managed(view):
        return _request_review(paths, view, plan, console)
    code = _apply(paths, session, view, plan, request, console, targets)
    if applying is not None:
        with ControlPlane(locate(paths.root)) as store:
            store.mark_request_applied(applying.request_id, clock.now())
        console.line(f"Request {applying.request_id} applied.")
    return code


def _request_review(paths: ProjectPaths, view: deployment.DeploymentView, plan: plans.Plan,
                    console: Console) -> int:
    """Managed production: deploy to staging for review and record the request."""
    console.line("Production is PLEXI-managed: this becomes a deployment request, "
                 "reviewed in staging first.")
    staging = _view(paths, Environment.STAGING, console)
    if staging is None:
        return ExitCode.FAILED
    session = _session(paths, staging)
    staging_plan = _preview(staging, session, [], False, console)
    if staging_plan.has_changes:
        _apply(paths, session, staging, staging_plan, DeployRequest(Environment.STAGING),
               console, [])
    with ControlPlane(locate(paths.root)) as store:
        principal = Gate(paths.root, store).principal()
        made = managed.new_request(plan, [v.config.name for v in view.selection.vaults],
                                   principal.user if principal else local_actor(), clock.now())
        store.add_request(made)
    console.document({"request_id": made.request_id, "digest": made.digest,
                      "review_ends": managed.review_ends(made).isoformat(),
                      "plan": plans.to_json(plan)})
    console.line(f"Request {made.request_id} created; staging review until "
                 f"{windows.describe(managed.review_ends(made))}.")
    console.line(f"Then: flexor approve {made.request_id} (someone else), and in a maintenance "
                 f"window: flexor deploy --request {made.request_id} --env production")
    return ExitCode.OK


def _apply(paths: ProjectPaths, session: StackSession, view: deployment.DeploymentView,
           plan: plans.Plan, request: DeployRequest, console: Console,
           targets: list[str]) -> int:
    if view.to_publish:
        with ControlPlane(locate(paths.root)) as store:
            for vault in view.to_publish:
                published = publish(paths, vault, store)
                console.progress(f"Synced {published.vault} (sync.auto): {published.digest[:19]}…")
    console.progress(f"Deploying to {view.environment.value} …")
    message = f"flexor deploy --env {view.environment.value}"
    if transitions := plans.agent_transitions(plan):
        message += f": {transitions}"
    result = session.up(targets, message=message, on_step=_progress(console),
                        refresh=request.refresh)
    console.document({**plans.to_json(plan), "applied": True, "result": result.summary})
    done = ", ".join(f"{count} {op}" for op, count in sorted(result.summary.items())
                     if op != "same" and count)
    console.line(f"Deployed to {view.environment.value}: {done or 'nothing changed'}.")
    return ExitCode.OK
