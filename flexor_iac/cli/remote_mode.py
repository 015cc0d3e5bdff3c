"""The CLI's remote mode: with a team server (`--server`, $FLEXOR_SERVER or `flexor:server`
in Pulumi.yaml) every verb but `validate`, `init`, `schema`, `completion`, `serve` and `db`
is parsed here, as always (a usage error is exit 64 before anything is sent), and then run on
the server, with the project's files and the key ($FLEXOR_API_KEY): same lines, same exit
code. The client needs no database URL, no passphrase and no Pulumi CLI.

The server cannot ask a question: on a terminal without --yes, `deploy` first saves its plan
on the server (`--plan-out`), asks here, and applies exactly that plan; `rollback` shows its
dry run, asks, and rolls back. `--plan-out FILE` writes the saved plan's id to FILE as well,
so `--plan FILE` works the same in both modes.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flexor_iac.cli.options import Settings, ask, settings
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.remote.settings import READ_VERBS, REMOTE_VERBS, Remote, remote

_SERVER_ONLY = ("--project-dir", "--server", "--plan-out", "--plan")
PLAN_FILE_KIND = "flexor-server-plan"


def install(group: click.Group) -> None:
    """Make every verb a client sends go to the team server when one is configured."""
    for name, command in group.commands.items():
        if name in REMOTE_VERBS:
            _wrap(command)


def _wrap(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _wrap(sub)
        return
    local = command.callback
    assert local is not None

    @functools.wraps(local)
    def callback(*args: Any, **kwargs: Any) -> Any:
        current = settings()
        root = current.paths().root if current.server is None else None
        target = remote(current.server, root)
        if target is None:
            return local(*args, **kwargs)
        return _send(click.get_current_context(), current, target)

    command.callback = callback


def _argv(ctx: click.Context, current: Settings) -> list[str]:
    """The arguments to send: as given, without those naming paths here, with an --env that
    came from FLEXOR_ENV made explicit."""
    sent, skip = [], False
    for word in current.argv:
        if skip:
            skip = False
            continue
        if word in _SERVER_ONLY:
            skip = True
            continue
        if word.split("=", 1)[0] in _SERVER_ONLY:
            continue
        sent.append(word)
    if "env" in ctx.params and ctx.params["env"] is not None and \
            ctx.get_parameter_source("env") is ParameterSource.ENVIRONMENT:
        sent += ["--env", ctx.params["env"].value]
    return sent


def _plan_id(given: Path | str) -> str:
    """`--plan X`: a file `--plan-out` wrote in remote mode, else X is the plan's id."""
    path = Path(given)
    if path.is_file():
        try:
            found = json.loads(path.read_text())
            return str(found["plan_id"]) if found.get("kind") == PLAN_FILE_KIND else str(given)
        except (OSError, ValueError, KeyError, AttributeError):
            raise UsageError(f"--plan {given}: not a plan saved on a team server (its id, or "
                             "the file `--plan-out` wrote)") from None
    return str(given)


def _send(ctx: click.Context, current: Settings, target: Remote) -> int:
    # Imported here: HTTP and the wire models cost a local verb 0.13 s it does not need.
    from flexor_iac.remote.client import Client
    from flexor_iac.remote.oidc import with_exchanged_key
    from flexor_iac.remote.protocol import CommandRequest, digest_of, project_files

    params = ctx.params
    root = current.paths().root
    files = project_files(root)
    digests = {path: digest_of(content) for path, content in files.items()}
    argv = _argv(ctx, current)
    verb = ctx.command_path.split()[1] if len(ctx.command_path.split()) > 1 else ""
    plan_out: Path | None = params.get("plan_out")
    saved = params.get("saved_plan")
    target = with_exchanged_key(target)
    with Client(target) as client:
        def run(words: list[str], on_event: Callable[[dict[str, Any]], None] | None = None,
                **extra: Any) -> Any:
            try:
                return client.run(CommandRequest(argv=words, files=digests, **extra), files,
                                  on_event)
            except KeyboardInterrupt:
                if verb not in READ_VERBS:
                    click.echo(f"warning: the server finishes what it started; `flexor "
                               f"history` and `flexor status` show how it ended "
                               f"({target.url})", err=True)
                raise

        asking = (verb in ("deploy", "rollback") and not params.get("yes")
                  and not params.get("dry_run") and plan_out is None and sys.stdin.isatty())
        if saved is not None:
            return int(run(argv, plan_id=_plan_id(saved)).exit_code)
        if plan_out is not None:
            outcome = run(argv, plan_out=True)
            if outcome.plan_id:
                plan_out.write_text(json.dumps({"kind": PLAN_FILE_KIND, "server": target.url,
                                                "plan_id": outcome.plan_id}) + "\n")
            return int(outcome.exit_code)
        if not asking:
            return int(run(argv).exit_code)
        return _confirmed(verb, argv, params, run)


def _confirmed(verb: str, argv: list[str], params: dict[str, Any],
               run: Callable[..., Any]) -> int:
    """Show the plan, ask here, then apply it: for a deploy exactly the plan shown (saved on
    the server), except to production, where a PLEXI-managed stack turns the apply into a
    deployment request (reviewed and approved before anything is applied); for a rollback,
    the version the dry run named."""
    env = params["env"].value
    if verb == "rollback":
        return _confirmed_rollback(argv, params, run)
    if params.get("refresh") or params.get("request_id"):
        raise UsageError("in remote mode, deploy --refresh or --request needs --yes (the "
                         "server cannot ask you)")
    shown_only = [w for w in argv if w != "--detailed-exitcode"]
    if env == "production":
        planned = run([*shown_only, "--dry-run", "--detailed-exitcode"])
    else:
        planned = run([*shown_only, "--detailed-exitcode"], plan_out=True)
    if planned.exit_code != ExitCode.CHANGES_PRESENT:
        return int(planned.exit_code)
    if not ask(f"Deploy these changes to {env}?"):
        raise FlexorError("deploy cancelled; nothing was applied")
    if env == "production" or planned.plan_id is None:
        return int(run([*shown_only, "--yes"]).exit_code)
    return int(run([*_without_agents(shown_only), "--yes"], plan_id=planned.plan_id).exit_code)


def _confirmed_rollback(argv: list[str], params: dict[str, Any],
                        run: Callable[..., Any]) -> int:
    """Show the dry run, ask, and roll back to the version it named (`--version`), so that a
    deploy in between cannot change what the answer agreed to."""
    from flexor_iac.remote.protocol import rollback_target

    named: list[str] = []

    def noted(event: dict[str, Any]) -> None:
        if (version := rollback_target(str(event.get("out", "")))) is not None:
            named.append(version)

    shown = run([*argv, "--dry-run"], on_event=noted)
    if shown.exit_code != ExitCode.OK or not named:  # failed, or nothing to roll back
        return int(shown.exit_code)
    if not ask(f"Roll {params['agent']} back to {named[-1]} in {params['env'].value}?"):
        raise FlexorError("rollback cancelled; nothing was applied")
    pinned = argv if params.get("version") else [*argv, "--version", named[-1]]
    return int(run([*pinned, "--yes"]).exit_code)


def _without_agents(argv: list[str]) -> list[str]:
    """`argv` without its `--agent NAME` (a saved plan holds its targets)."""
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--agent":
            skip = True
        elif not word.startswith("--agent="):
            kept.append(word)
    return kept
