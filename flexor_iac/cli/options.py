"""Options every verb shares, defined once (the click side of main.py)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from flexor_iac.core.constants import ENVIRONMENT_NAMES, Environment
from flexor_iac.core.output import Console, colour_wanted
from flexor_iac.core.workspace import ProjectPaths, find_project

F = TypeVar("F", bound=Callable[..., Any])
# How Python hands over command-line bytes that are not UTF-8 (surrogate escapes, b"\xff" →
# "\udcff"): text no database, file or terminal of ours can take.
_UNDECODED = re.compile("[\ud800-\udfff]")
# A NUL cannot come from a shell, but main(argv) may pass one, and no file name takes it.
_NUL = re.compile("\x00")


def _undecoded(value: Any, pattern: re.Pattern[str] = _UNDECODED) -> bool:
    values = value if isinstance(value, list | tuple) else (value,)
    return any(isinstance(each, str) and pattern.search(each) for each in values)


def _with_nul(value: Any) -> bool:
    return _undecoded(value, _NUL)


def _named(ctx: click.Context, args: list[str],
           bad: Callable[[Any], bool] = _undecoded) -> tuple[str, click.Context]:
    """The option or argument ("'--agent'", "'AGENT'") the first `bad` (undecoded) value in
    `args` belongs to, and the context of its command: the parsers alone read them, nothing
    runs."""
    command, here = ctx.command, ctx
    while True:
        try:
            opts, args, order = command.make_parser(here).parse_args(args=args)
        except click.UsageError:  # an unknown option (its own name undecoded, say)
            return "an option", here
        for param in order:
            if param.name is not None and bad(opts.get(param.name)):
                return param.get_error_hint(here), here
        if not isinstance(command, click.Group) or not args:
            return "an argument", here
        if bad(args[0]):
            return "'COMMAND'", here
        if (sub := command.get_command(here, args[0])) is None:
            return "an argument", here
        here = sub.context_class(sub, info_name=args[0], parent=here)
        command, args = sub, args[1:]


class FlexorGroup(click.Group):
    """The `flexor` group: before any verb parses, an argument that is not valid UTF-8 (bytes a
    shell passed, such as $'\\xff') is a usage error naming its option, for every verb."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing and any(map(_undecoded, args)):
            name, where = _named(ctx, list(args))
            raise click.UsageError(f"Invalid value for {name}: not valid UTF-8 text", where)
        if not ctx.resilient_parsing and any(map(_with_nul, args)):
            name, where = _named(ctx, list(args), _with_nul)
            raise click.UsageError(f"Invalid value for {name}: a NUL character", where)
        return super().parse_args(ctx, args)


@dataclass
class Settings:
    """Global options, which may be given before or after the verb."""

    project_dir: Path | None = None
    json_mode: bool = False
    no_color: bool = False
    verbose: bool = False
    server: str | None = None
    argv: list[str] = field(default_factory=list)  # as given, for a verb sent to a server

    def console(self) -> Console:
        """The console every command writes through."""
        return Console(json_mode=self.json_mode, colour=colour_wanted(sys.stdout, self.no_color),
                       verbose=self.verbose)

    def paths(self) -> ProjectPaths:
        """The project: --project-dir, else the nearest Pulumi.yaml at or above the cwd."""
        return find_project(self.project_dir)


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value not in (None, False):
            setattr(ctx.ensure_object(Settings), attribute, value)
    return callback


def global_options(command: F) -> F:
    """The options every verb accepts (defined once, applied to the group and each verb)."""
    decorators = [
        click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path),
                     expose_value=False, callback=_store("project_dir"),
                     help="Project directory (default: $FLEXOR_PROJECT_DIR, else the nearest "
                          "Pulumi.yaml above the cwd)."),
        click.option("--json", "json_mode", is_flag=True, expose_value=False,
                     callback=_store("json_mode"), help="Machine-readable output."),
        click.option("--no-color", is_flag=True, expose_value=False, callback=_store("no_color"),
                     help="No colour (also: NO_COLOR=1)."),
        click.option("-v", "--verbose", is_flag=True, expose_value=False,
                     callback=_store("verbose"), help="More detail on stderr."),
        click.option("--server", metavar="URL", expose_value=False, callback=_store("server"),
                     help="Send the verb to this team server (default: $FLEXOR_SERVER, else "
                          "flexor:server in Pulumi.yaml)."),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def _environment(_ctx: click.Context, _param: click.Parameter,
                 value: str | None) -> Environment | None:
    return Environment(value) if value else None


def env_option(command: F) -> F:
    """`--env E` (or FLEXOR_ENV), required; the verb receives an Environment."""
    return click.option(
        "--env", "env", required=True, envvar="FLEXOR_ENV", callback=_environment,
        type=click.Choice(ENVIRONMENT_NAMES),
        help="Target environment (or FLEXOR_ENV).")(command)


def env_filter_option(help_text: str) -> Callable[[F], F]:
    """`--env E` (or FLEXOR_ENV), optional: an Environment or None."""
    return click.option("--env", "env", envvar="FLEXOR_ENV", callback=_environment,
                        type=click.Choice(ENVIRONMENT_NAMES), help=help_text)


# The longest name the verbs that check names take: longer than any agent's, short enough for
# a file name (NAME_MAX) and a line of output.
MAX_NAME = 255


def _named_like(kind: str, pattern: str, example: str) -> Callable[
        [click.Context, click.Parameter, str | None], str | None]:
    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None and (len(value) > MAX_NAME or not re.fullmatch(pattern, value)):
            shown = value if len(value) <= 40 else f"{value[:40]}… ({len(value)} characters)"
            raise click.BadParameter(f"{shown!r} is not {kind} ({example})")
        return value
    return check


def agent_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An agent's name as an agent file may give it (the verbs that start the engine check it
    first: a name no agent has is refused before a `pulumi` process starts)."""
    from flexor_iac.project.models import KEBAB_PATTERN

    return _named_like("an agent's name", KEBAB_PATTERN,
                       "lowercase letters, digits and hyphens")(ctx, param, value)


def version_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A version as an agent file may give it."""
    from flexor_iac.project.models import VERSION_PATTERN

    return _named_like("a version", VERSION_PATTERN, "such as 1.2")(ctx, param, value)


def agent_option(help_text: str, required: bool = False,
                 multiple: bool = False, checked: bool = False) -> Callable[[F], F]:
    """`--agent NAME` (repeatable when `multiple`: the verb receives `agents`); `checked`: a
    value that is no agent's name is a usage error."""
    return click.option("--agent", "agents" if multiple else "agent", required=required,
                        multiple=multiple, metavar="NAME", help=help_text,
                        callback=agent_name if checked else None)


def dry_run_option(help_text: str = "Show the plan and stop; changes nothing.") -> Callable[
        [F], F]:
    """`--dry-run`."""
    return click.option("--dry-run", is_flag=True, help=help_text)


def yes_option(command: F) -> F:
    """`--yes`/`-y`: apply without asking."""
    return click.option("--yes", "-y", is_flag=True,
                        help="Do not ask for confirmation on a terminal.")(command)


def settings() -> Settings:
    """The Settings of the running invocation."""
    return click.get_current_context().ensure_object(Settings)


def lock_timeout_option(command: F) -> F:
    """`--lock-timeout 5m`: how long to wait for another operation on the environment."""
    def convert(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float:
        from flexor_iac.core.moments import parse_wait

        return parse_wait(value, "--lock-timeout") if value else 0.0
    return click.option(
        "--lock-timeout", metavar="WAIT", callback=convert,
        help="Wait up to WAIT (30s, 5m, 1h) for another operation on the environment to "
             "finish (default: refuse at once, naming it).")(command)


# `--limit N` of every listing: a count SQLite's 64-bit LIMIT takes, and more than anyone reads.
LIMIT = click.IntRange(min=1, max=1_000_000)


def ask(question: str) -> bool:
    """A yes/no question to the person at the terminal (on stderr: stdout may be JSON)."""
    return click.confirm(question, default=False, err=True)
