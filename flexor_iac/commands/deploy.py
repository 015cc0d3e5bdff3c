"""`flexor deploy`: validate → preview → plan → (dry run stops) → confirm → up → result.

Every refusal (declaration, unsynced vault, version not bumped or lowered, a running operation,
a stale plan) happens before anything is applied, with exit 3. A deploy holds the
environment's operation lock from before the preview to the end of the apply, prompt
included, and applies the plan only while its basis (flexor_iac.deploy.plan_file) has not moved.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from flexor_iac.access import windows
from flexor_iac.access.policy import Authority, Gate
from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import PolicyRefusal, UsageError
from flexor_iac.core.locking import DEFAULT_WAIT
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import deployment, managed, pipeline, plan_file
from flexor_iac.deploy import plan as plans
from flexor_iac.project.loading import Project

Confirm = Callable[[str], bool]


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
    allow_downgrade: bool = False
    lock_timeout: float = DEFAULT_WAIT  # seconds in line for the environment (0: none)
    plan_out: Path | None = None
    saved_plan: Path | None = None


@dataclass(frozen=True)
class _Authorized:
    """Who deploys, whether production is PLEXI-managed, the request being applied."""

    authority: Authority
    managed: bool
    applying: DeploymentRequest | None


def _authorize(paths: ProjectPaths, store: ControlPlane, view: deployment.DeploymentView,
               request: DeployRequest) -> _Authorized:
    """Key, roles, recorded protection and the managed-production rules."""
    env = view.environment
    authority = Gate(paths.root, store).authorize_change(env, view.vault_names, request.dry_run)
    if request.request_id and not authority.managed:
        raise UsageError("--request applies only to a PLEXI-managed production stack")
    applying = managed.found(store.request(request.request_id), request.request_id) \
        if request.request_id else None
    if applying is not None and not request.dry_run:  # a dry run may look at it any time
        managed.check_apply(applying, authority.protection.windows, clock.now())
    return _Authorized(authority, authority.managed, applying)


def run(paths: ProjectPaths, request: DeployRequest, console: Console, confirm: Confirm) -> int:
    """Deploy the project to one environment; returns the exit code."""
    _check_flags(request)
    if request.saved_plan is not None:
        return _apply_saved(paths, request, request.saved_plan, console, confirm)
    project = None
    if deployment.makes_the_control_plane(paths):  # a fresh clone: refuse before making any
        project = pipeline.validate(paths, request.env, console, request.dry_run)
        deployment.refuse_unbound(project, request.env)
    lock = nullcontext() if request.dry_run else environment_lock(
        paths, request.env, request.lock_timeout, console.progress)
    with lock:
        return _deploy(paths, request, console, confirm, project)


def _check_flags(request: DeployRequest) -> None:
    if request.saved_plan is not None and (request.dry_run or request.agents or request.refresh
                                           or request.plan_out or request.request_id):
        raise UsageError("--plan applies a saved plan as it was made: it takes no --dry-run, "
                         "--agent, --refresh, --plan-out or --request")
    if request.plan_out is not None and request.refresh:
        raise UsageError("--plan-out cannot save a plan made with --refresh (the refresh is "
                         "not saved); run `flexor deploy --refresh` first")


def _deploy(paths: ProjectPaths, request: DeployRequest, console: Console,
            confirm: Confirm, project: Project | None = None) -> int:
    if project is None:
        project = pipeline.validate(paths, request.env, console, request.dry_run)
    # Opened once for the whole command (the engine's providers open their own).
    with ControlPlane.of(paths, say=console.progress) as store:
        return _deploy_valid(paths, store, project, request, console, confirm)


def _deploy_valid(paths: ProjectPaths, store: ControlPlane, project: Project,
                  request: DeployRequest, console: Console, confirm: Confirm) -> int:
    env = request.env
    view = pipeline.bind(paths, store, project, env, console)
    authorized = _authorize(paths, store, view, request)
    applying = authorized.applying
    prepared = pipeline.prepare(paths, store, view, request.agents, console)
    basis = prepared.basis()
    plan = None
    if not request.refresh and applying is None and request.plan_out is None:
        plan = pipeline.recorded_plan(store, prepared, basis, console)
    if plan is None:
        plan = pipeline.preview(prepared, request.refresh, request.allow_downgrade, console)
        if not plan.has_changes and not request.dry_run:
            pipeline.settle(store, prepared, plan, basis.state, console)
    if applying is not None:
        managed.check_same_plan(applying, plan)
    if request.plan_out is not None:
        plan_file.save(request.plan_out, basis, plan)
        console.progress(f"Plan saved to {request.plan_out}; apply exactly it with "
                         f"`flexor deploy --env {env.value} --plan {request.plan_out}`")
    if request.dry_run or not plan.has_changes:
        console.document({**plans.to_json(plan), "applied": False})
        changed = plan.has_changes and request.detailed_exitcode and request.dry_run
        return ExitCode.CHANGES_PRESENT if changed else ExitCode.OK
    if not console.approved(f"Deploy these changes to {env.value}?", request.yes, confirm,
                            f"deploying to {env.value}"):
        console.error("deploy cancelled; nothing was applied")
        return ExitCode.FAILED
    if applying is None and authorized.managed:
        return _request_review(paths, store, project, view, plan, console,
                               request.lock_timeout)
    plan_file.check_current(basis, prepared.basis())
    code = pipeline.apply(paths, store, prepared, plan, request.refresh, console,
                          managed.label(applying) if applying is not None else "")
    if applying is not None:
        store.mark_request_applied(applying.request_id, clock.now())
        console.line(f"Request {applying.request_id} applied.")
    return code


def _apply_saved(paths: ProjectPaths, request: DeployRequest, source: Path, console: Console,
                 confirm: Confirm) -> int:
    """Apply exactly a plan saved with --plan-out, or refuse (exit 3) when it is stale."""
    saved = plan_file.load(source)
    env = request.env
    if saved.basis.environment != env.value:
        raise UsageError(f"--plan {source} is a plan for {saved.basis.environment}, "
                         f"not {env.value}")
    with environment_lock(paths, env, request.lock_timeout, console.progress):
        project = pipeline.validate(paths, env, console)
        with ControlPlane.of(paths, say=console.progress) as store:
            view = pipeline.bind(paths, store, project, env, console)
            if _authorize(paths, store, view, request).managed:
                raise UsageError("a PLEXI-managed production applies approved requests "
                                 "(--request), not saved plans")
            prepared = pipeline.prepare(paths, store, view, saved.basis.agents, console)
            if prepared.cut_off is not None:
                raise PolicyRefusal(f"--plan {source}: the last update of {env.value} was cut "
                                    "off, so the saved plan may not be what it needs; nothing "
                                    f"was applied; run `flexor deploy --env {env.value}` "
                                    "(it refreshes and converges)")
            plan_file.check_current(saved.basis, prepared.basis())
            console.progress(f"Applying the plan saved in {source} …")
            plans.render(saved.plan, console)
            if not saved.plan.has_changes:
                console.document({**plans.to_json(saved.plan), "applied": False})
                return ExitCode.OK
            if not console.approved(f"Deploy these changes to {env.value}?", request.yes,
                                    confirm, f"deploying to {env.value}"):
                console.error("deploy cancelled; nothing was applied")
                return ExitCode.FAILED
            return pipeline.apply(paths, store, prepared, saved.plan, False, console)


def _request_review(paths: ProjectPaths, store: ControlPlane, project: Project,
                    view: deployment.DeploymentView, plan: plans.Plan, console: Console,
                    lock_timeout: float) -> int:
    """Managed production: deploy to staging for review and record the request (the project
    as validated for production, checked for staging too)."""
    console.line("Production is PLEXI-managed: this becomes a deployment request, "
                 "reviewed in staging first.")
    with environment_lock(paths, Environment.STAGING, lock_timeout, console.progress):
        checked = pipeline.validate(paths, Environment.STAGING, console, project=project)
        staging = pipeline.bind(paths, store, checked, Environment.STAGING, console)
        prepared = pipeline.prepare(paths, store, staging, (), console)
        staging_plan = pipeline.preview(prepared, False, False, console)
        if staging_plan.has_changes:
            pipeline.apply(paths, store, prepared, staging_plan, False, console)
    principal = Gate(paths.root, store).principal()
    made = managed.new_request(plan, view.vault_names,
                               principal.user if principal else local_actor(), clock.now())
    store.add_request(made)
    console.document({"request_id": made.request_id, "digest": made.digest,
                      "review_ends": managed.review_ends(made).isoformat(),
                      "plan": plans.to_json(plan)})
    console.line(f"Request {made.request_id} created; staging review until "
                 f"{windows.describe(managed.review_ends(made))}.")
    console.line(f"Then: flexor approve {made.request_id} (someone else); `flexor serve --env "
                 "production` applies it when the next maintenance window opens (or by hand "
                 f"in one: flexor deploy --request {made.request_id} --env production)")
    return ExitCode.OK


