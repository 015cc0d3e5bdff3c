"""`flexor deploy`: validate → preview → plan → (dry run stops) → confirm → up → result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flexor_iac import plan as plans
from flexor_iac.commands.validate import report
from flexor_iac.config.diagnostics import has_errors
from flexor_iac.constants import Environment, ExitCode
from flexor_iac.errors import PolicyRefusal, UsageError
from flexor_iac.output import Console
from flexor_iac.program import declare
from flexor_iac.selection import Selection, select
from flexor_iac.stacks import ResourceStep, StackSession
from flexor_iac.validate import validate_project
from flexor_iac.workspace import ProjectPaths

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


def _targets(session: StackSession, selection: Selection, agents: tuple[str, ...]) -> list[str]:
    """URNs for --agent: the agents plus the binding and vault scopes they depend on."""
    if not agents:
        return []
    eligible = {a.spec.name: a for a in selection.agents}
    skipped = {s.name: s.reason for s in selection.skipped if s.kind == "agent"}
    urns = [session.urn("EnvironmentBinding", selection.environment.value)]
    for name in agents:
        if name in skipped:
            raise PolicyRefusal(f"agent {name} cannot be deployed to "
                                f"{selection.environment.value}: {skipped[name]}")
        if name not in eligible:
            raise UsageError(f"no agent named {name!r} in this project")
        urns.append(session.urn("Agent", name))
    urns += [session.urn("VaultTierScope", v.config.name) for v in selection.vaults]
    return urns


def _progress(console: Console) -> Callable[[ResourceStep], None]:
    def show(step: ResourceStep) -> None:
        if step.op != "same":
            console.progress(f"  {plans.SYMBOLS.get(step.op, '?')} {step.kind} {step.name} done")
    return show


def run(paths: ProjectPaths, request: DeployRequest, console: Console, confirm: Confirm) -> int:
    """Deploy the project to one environment; returns the exit code."""
    project, diagnostics = validate_project(paths.root, (request.env,))
    report(console, diagnostics)
    if has_errors(diagnostics):
        console.error("the project has errors; nothing was deployed")
        return ExitCode.FAILED
    selection = select(project, request.env)
    def program() -> None:
        declare(project, selection)

    session = StackSession(paths, request.env, program)
    targets = _targets(session, selection, request.agents)
    console.progress(f"Previewing {request.env.value} …")
    plan = plans.build_plan(request.env, session.preview(targets), selection.skipped)
    plans.render(plan, console)
    if request.dry_run or not plan.has_changes:
        console.document({**plans.to_json(plan), "applied": False})
        changed = plan.has_changes and request.detailed_exitcode
        return ExitCode.CHANGES_PRESENT if changed else ExitCode.OK
    if console.interactive and not request.yes and not confirm(
            f"Deploy these changes to {request.env.value}?"):
        console.error("deploy cancelled; nothing was applied")
        return ExitCode.FAILED
    console.progress(f"Deploying to {request.env.value} …")
    result = session.up(targets, message=f"flexor deploy --env {request.env.value}",
                        on_step=_progress(console), refresh=request.refresh)
    console.document({**plans.to_json(plan), "applied": True, "result": result.summary})
    done = ", ".join(f"{count} {op}" for op, count in sorted(result.summary.items())
                     if op != "same" and count)
    console.line(f"Deployed to {request.env.value}: {done or 'nothing changed'}.")
    return ExitCode.OK
