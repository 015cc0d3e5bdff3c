"""The one error boundary of the CLI: a FlexorError becomes one line and its exit code, a usage
error exit 64, an interrupt 130, a damaged control plane or a disk that takes no more (full,
over quota, read-only) one line (exit 1), anything unexpected exit 4 with the traceback in a
crash log the message names."""

from __future__ import annotations

import sys

import click

from flexor_iac.cli import failures
from flexor_iac.cli.options import (
    Settings,
)
from flexor_iac.controlplane.location import scrub
from flexor_iac.core import interpreter
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.output import Console


class _Scrubbed(Console):
    """The boundary's console: no error line shows the team database's password (a driver's or
    the engine's message may quote the whole URL)."""

    def error(self, text: str) -> None:
        super().error(scrub(text))


def run_group(group: click.Group, argv: list[str] | None = None) -> int:
    """Run `group` and return its exit code: the one error boundary of the CLI."""
    interpreter.prepare()
    console = _Scrubbed()
    given = Settings(argv=list(sys.argv[1:] if argv is None else argv))
    try:
        code = group.main(args=argv, prog_name="flexor", standalone_mode=False, obj=given)
        return int(code or 0)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        console.error(f"{error.format_message()}{hint}")
        return ExitCode.USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        console.error("interrupted")
        return 130
    except FlexorError as error:
        console.error(str(error))
        return error.exit_code
    except OSError as error:
        if (full := failures.no_room(error)) is None:
            return _crashed(console, error, given)
        console.error(full)
        return ExitCode.FAILED
    except Exception as error:
        return _crashed(console, error, given)


def _crashed(console: Console, error: Exception, given: Settings) -> int:
    """A damaged control plane found mid-command is one line; anything else unexpected is
    exit 4 with its traceback in a crash log."""
    if (damage := failures.damaged_store(error, given.project_dir)) is not None:
        console.error(damage)
        return ExitCode.FAILED
    log = failures.crash_log(error, given.project_dir)
    console.error(f"internal error: {type(error).__name__}: {error} (traceback in {log})")
    return ExitCode.INTERNAL
