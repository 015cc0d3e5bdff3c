"""The `flexor` console script. Only wiring: the group (cli/group.py) with every verb family
registered, run behind the one error boundary (cli/boundary.py). The verbs live in
flexor_iac/cli/*_verbs.py; what they do, in flexor_iac/commands/."""

from __future__ import annotations

from typing import NoReturn

from flexor_iac.cli import (
    access_verbs,
    db_verbs,
    project_verbs,
    remote_mode,
    runtime_verbs,
    serve_verbs,
    tool_verbs,
    trust_verbs,
)
from flexor_iac.cli.boundary import run_group
from flexor_iac.cli.group import cli
from flexor_iac.core import interpreter

for family in (project_verbs, runtime_verbs, serve_verbs, access_verbs, trust_verbs, db_verbs,
               tool_verbs):
    family.register(cli)
remote_mode.install(cli)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    return run_group(cli, argv)


def run() -> NoReturn:
    """The `flexor` console script: main(), then a quick exit (see interpreter.finish)."""
    interpreter.finish(main())


if __name__ == "__main__":
    run()
