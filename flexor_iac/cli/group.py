"""The `flexor` group itself: its help, its version option and the global options."""

from __future__ import annotations

import click

from flexor_iac import __version__
from flexor_iac.cli.options import FlexorGroup, global_options


@click.group(cls=FlexorGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@global_options
@click.version_option(__version__, prog_name="flexor")
def cli() -> None:
    """Deploy a Flexor project (agents, vaults, environments) with the Pulumi engine.

    \b
    Examples:
      flexor validate
      flexor deploy --env staging --dry-run
      flexor deploy --env production --agent feed-monitor
      flexor status --env production

    Exit codes: 0 ok, 1 failed, 2 changes present (dry run with --detailed-exitcode),
    3 refused by policy, 4 internal error, 64 usage error.
    """
