"""The verbs that set up a person's tools: `flexor schema` (editors), `flexor completion` (shells).

Click-aware like main.py (which registers these on its group); each command is thin and calls
flexor_iac.commands.<verb>. Neither needs a project.
"""

from __future__ import annotations

import click

from flexor_iac.cli.options import global_options, settings

KINDS = ("agent", "skill", "vault")
SHELLS = ("bash", "zsh", "fish")


@click.command()
@global_options
@click.argument("kind", required=False, type=click.Choice(KINDS))
def schema(kind: str | None) -> int:
    """Print the JSON Schema of agent, skill or vault files.

    \b
    Each is a standalone JSON Schema (draft 2020-12) with a stable $id,
    https://flexor-iac.dev/schemas/KIND.json (an identifier, not a download).
    Without KIND: one schema document bundling the three under $defs (each
    with its own $id), which accepts a file of any of the kinds. Point your
    editor's YAML/JSON language server at the one for each kind of file.

    \b
    Examples:
      flexor schema agent > .schemas/agent.json
      flexor schema vault > .schemas/vault.json
      flexor schema > .schemas/flexor.json
    """
    from flexor_iac.commands import schema as command

    return command.run(kind, settings().console())


@click.command()
@global_options
@click.argument("shell", metavar="SHELL", type=click.Choice(SHELLS))
def completion(shell: str) -> int:
    """Print the tab-completion script of SHELL (bash, zsh or fish) for flexor.

    \b
    The script calls `flexor` to complete, so flexor must be on PATH (an activated
    .venv). Verbs, options and choices such as --env values complete.

    \b
    Examples:
      eval "$(flexor completion bash)"      # in ~/.bashrc (bash 4.4 or newer)
      eval "$(flexor completion zsh)"       # in ~/.zshrc, after compinit
      flexor completion fish > ~/.config/fish/completions/flexor.fish
    """
    from flexor_iac.commands import completion as command

    root = click.get_current_context().find_root().command
    return command.run(root, shell, settings().console())


def register(group: click.Group) -> None:
    """Add the tool verbs to the `flexor` group."""
    for command in (schema, completion):
        group.add_command(command)
