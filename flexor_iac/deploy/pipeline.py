"""The deploy pipeline's steps: validate and bind snapshots, prepare the stack, preview into a
checked plan, apply. `flexor deploy` (commands/deploy.py) runs them under the environment's
lock and decides what is asked and refused between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import InvalidProject, PolicyRefusal, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import deployment, plan_file, recovery, sessions, unchanged
from flexor_iac.deploy import plan as plans
from flexor_iac.deploy.program import Desired, agent_vaults, desired, inputs_digest
from flexor_iac.deploy.sessions import Stack
from flexor_iac.deploy.snapshots import publish
from flexor_iac.deploy.stacks import ResourceStep
from flexor_iac.deploy.toolchain import pulumi_bin_dir
from flexor_iac.project.diagnostics import has_errors, report
from flexor_iac.project.loading import Project
from flexor_iac.project.models import version_key
from flexor_iac.project.validate import check_project, validate_project

# Environments where a changed agent must carry a new version, and may not go down.
VERSIONED = (Environment.STAGING, Environment.PRODUCTION)


def targets(session: Stack, view: deployment.DeploymentView,
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
    in_scope = set(view.vault_names)
    return urns + [session.urn("VaultTierScope", v) for v in sorted(vaults & in_scope)]


def check_versions(plan: plans.Plan, allow_downgrade: bool = False) -> None:
    """Refuse an agent whose own spec changed while its version did not, and (unless
    allowed) an agent whose deployed version would go down: rollback is the way back.

    Skill changes are not refused: a skill carries its own version, recorded with the agent.
    """
    if plan.environment not in VERSIONED:
        return
    for change in plan.changes:
        if change.kind != "Agent" or change.op != "update" or not change.from_version \
                or not change.to_version:
            continue
        content = [f for f in change.fields if f.startswith("spec.") or f == "vault"]
        if content and change.from_version == change.to_version:
            raise PolicyRefusal(
                f"refused: agent {change.name} changed ({', '.join(content)}) but its version is "
                f"still {change.to_version}; bump `version` in its file to deploy to "
                f"{plan.environment.value}")
        if not allow_downgrade and \
                version_key(change.to_version) < version_key(change.from_version):
            raise PolicyRefusal(
                f"refused: agent {change.name} would go down from {change.from_version} to "
                f"{change.to_version} in {plan.environment.value} (an older checkout?); use "
                "`flexor rollback` to go back, or --allow-downgrade if this is intended")


def progress(console: Console) -> Callable[[ResourceStep], None]:
    """One line per resource step as the update finishes it."""
    def show(step: ResourceStep) -> None:
        if step.op != "same":
            console.progress(f"  {plans.SYMBOLS.get(step.op, '?')} {step.kind} {step.name} done")
    return show


def validate(paths: ProjectPaths, env: Environment, console: Console, dry_run: bool = False,
             project: Project | None = None) -> Project:
    """The project, validated for `env`; InvalidProject (after reporting) when it has errors.

    A dry run changes nothing anywhere: it reads the parse cache but does not update it.
    `project`: the project as this command already read and validated it, for another
    environment: only the rules that depend on `env` can find more, so its files are not read
    again (reading finds errors only, and it had none).
    """
    if project is None:
        project, diagnostics = validate_project(paths.root, (env,),
                                                cache="read" if dry_run else "use")
    else:
        diagnostics = check_project(project, (env,))
    report(console, diagnostics)
    if has_errors(diagnostics):
        raise InvalidProject("the project has errors; nothing was deployed")
    return project


def bind(paths: ProjectPaths, store: ControlPlane, project: Project, env: Environment,
         console: Console) -> deployment.DeploymentView:
    """Bind the validated project's snapshots; InvalidProject (after reporting) when one has
    errors."""
    view = deployment.view(paths, project, env, store)
    console.debug(f"toolchain: {pulumi_bin_dir()}; control plane: {store.where}")
    for vault, digest in sorted(view.snapshots.items()):
        console.debug(f"vault {vault}: binds snapshot {digest}")
    report(console, list(view.diagnostics))
    if has_errors(list(view.diagnostics)):
        raise InvalidProject("a bound vault snapshot has errors; nothing was deployed")
    for warning in view.warnings:
        console.warning(warning)
    return view


@dataclass(frozen=True)
class Prepared:
    """One environment ready to preview and apply: its resources, stack and targets."""

    view: deployment.DeploymentView
    resources: list[Desired]
    session: Stack
    targets: list[str]
    agents: tuple[str, ...]
    inputs: str  # program.inputs_digest of the resources
    project: str  # unchanged.project_digest: the inputs, files and tool versions
    # Who ran the environment's last update, when it was cut off (deploy/recovery.py).
    cut_off: str | None = None

    def basis(self) -> plan_file.Basis:
        """What a plan computed now is computed from (the state is read afresh)."""
        return plan_file.Basis(self.view.environment.value, self.session.state_digest(),
                               self.inputs, dict(self.view.snapshots), self.agents)

    @property
    def whole(self) -> bool:
        """Whether this deploys the whole project (no --agent) with nothing left to recover."""
        return not self.targets and self.cut_off is None


def prepare(paths: ProjectPaths, store: ControlPlane, view: deployment.DeploymentView,
            agents: tuple[str, ...], console: Console) -> Prepared:
    """The resources, the stack and the --agent targets of one environment; whether its last
    update was cut off (said once: the preview and the update then refresh)."""
    env = view.environment
    resources = desired(view)
    session = sessions.open_stack(paths, env, resources, console.progress)
    cut_off = recovery.interrupted_by(store, env)
    if cut_off is not None:
        console.progress(recovery.notice(env, cut_off))
    inputs = inputs_digest(resources)
    return Prepared(view, resources, session, targets(session, view, agents), agents, inputs,
                    unchanged.project_digest(paths, env, inputs), cut_off)


def recorded_plan(store: ControlPlane, prepared: Prepared, basis: plan_file.Basis,
                  console: Console) -> plans.Plan | None:
    """The plan of the last full deploy, shown, when neither the project nor the stack moved
    since (the engine would find nothing); None: ask the engine (deploy/unchanged.py)."""
    if not prepared.whole or prepared.view.to_publish:
        return None
    plan = unchanged.still(store, prepared.view.environment, prepared.project, basis.state)
    if plan is not None:
        console.debug("the project and the stack are as the last full deploy left them: "
                      "no engine needed")
        plans.render(plan, console)
    return plan


def remember(store: ControlPlane, prepared: Prepared, plan: plans.Plan, state: str) -> None:
    """Keep a whole deploy that left the stack holding the project: `state` and the no-change
    plan a new preview would show (`plan` is the one applied, or found nothing to do)."""
    if prepared.whole:
        settled = plans.Plan(plan.environment, (), plan.skipped, len(prepared.resources),
                             plan.held)
        unchanged.record(store, plan.environment, prepared.project, state, settled)


def settle(store: ControlPlane, prepared: Prepared, plan: plans.Plan, state: str,
           console: Console) -> None:
    """A deploy that found nothing to change: it ends a recovery (the control plane loses
    what the stack does not hold) and is remembered like an update."""
    if prepared.cut_off is not None:
        with recovery.journal(store, prepared.view.environment, bool(prepared.targets)):
            if not prepared.targets:
                _sweep(store, prepared, console)
    remember(store, replace(prepared, cut_off=None), plan, state)


def _sweep(store: ControlPlane, prepared: Prepared, console: Console) -> None:
    for removed in recovery.sweep(store, prepared.view.environment,
                                  prepared.session.resources()):
        console.progress(f"  - {removed.replace('/', ' ')} removed from the control plane "
                         "(created by the cut-off update, not in the stack)")


def preview(prepared: Prepared, refresh: bool, allow_downgrade: bool,
            console: Console) -> plans.Plan:
    """Preview, check the plan against the version rules, print it."""
    view = prepared.view
    console.progress(f"Previewing {view.environment.value} …")
    refresh = refresh or prepared.cut_off is not None
    plan = plans.build_plan(view.environment,
                            prepared.session.preview(prepared.targets, refresh=refresh),
                            view.selection.skipped)
    check_versions(plan, allow_downgrade)
    plans.render(plan, console)
    return plan


def apply(paths: ProjectPaths, store: ControlPlane, prepared: Prepared, plan: plans.Plan,
          refresh: bool, console: Console, label: str = "") -> int:
    """Publish sync.auto vaults, run the update, print the result (`label`: what the update's
    message says after `flexor deploy --env E`, e.g. the request it applies)."""
    view = prepared.view
    for vault in view.to_publish:
        published = publish(paths, vault, store)
        console.progress(f"Synced {published.vault} (sync.auto): {published.digest[:19]}…")
    console.progress(f"Deploying to {view.environment.value} …")
    message = f"flexor deploy --env {view.environment.value}" + (f" {label}" if label else "")
    if transitions := plans.agent_transitions(plan):
        message += f": {transitions}"
    env = view.environment
    with recovery.journal(store, env, targeted=bool(prepared.targets)) as cut_off:
        result = prepared.session.up(prepared.targets, message=message,
                                     on_step=progress(console), refresh=refresh or cut_off)
        if cut_off and not prepared.targets:
            _sweep(store, prepared, console)
    remember(store, replace(prepared, cut_off=None), plan, prepared.session.state_digest())
    console.document({**plans.to_json(plan), "applied": True, "result": result.summary})
    done = ", ".join(f"{count} {op}" for op, count in sorted(result.summary.items())
                     if op != "same" and count)
    console.line(f"Deployed to {view.environment.value}: {done or 'nothing changed'}.")
    return ExitCode.OK
