"""`flexor completion SHELL`: the shell's tab-completion script for `flexor`.

The script is click's own (click.shell_completion), so this verb, unlike the others, uses click:
the script makes the shell call `flexor` with `_FLEXOR_COMPLETE=<shell>_complete`, and click
answers that from the same command definitions `flexor --help` shows.
"""

from __future__ import annotations

from click import Command
from click.shell_completion import get_completion_class

from flexor_iac.core.constants import ExitCode
from flexor_iac.core.output import Console

PROG_NAME = "flexor"
COMPLETE_VAR = "_FLEXOR_COMPLETE"  # what click derives from PROG_NAME (main() relies on it)


def script(cli: Command, shell: str) -> str:
    """The completion script of `shell` for the `flexor` command `cli`."""
    completion = get_completion_class(shell)
    if completion is None:  # bash, zsh and fish are all click's own
        raise ValueError(f"click has no completion for {shell}")
    return completion(cli, {}, PROG_NAME, COMPLETE_VAR).source()


def run(cli: Command, shell: str, console: Console) -> int:
    """Print the completion script (to be sourced by the shell, or saved where it looks)."""
    print(script(cli, shell).rstrip("\n"), file=console.out)
    return ExitCode.OK
