"""The trust verbs of the `flexor` command line: which CI OIDC tokens the team server exchanges
for a short-lived API key.

Click-aware like main.py (which registers these on its group); each command is thin.
"""

from __future__ import annotations

import click

from flexor_iac.cli.options import global_options, settings

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@click.group()
def trust() -> None:
    """Trust rules: CI jobs (GitHub Actions) present their OIDC token instead of a key."""


@trust.command("add")
@global_options
@click.option("--issuer", required=True, metavar="URL",
              help=f"The token issuer, https (GitHub Actions: {GITHUB_ISSUER}).")
@click.option("--audience", required=True, metavar="AUD",
              help="The audience the job asks its token for (its `aud` claim).")
@click.option("--repository-id", required=True, metavar="ID",
              help="GitHub's numeric repository id (`gh api repos/OWNER/REPO --jq .id`).")
@click.option("--environment", metavar="NAME",
              help="Only jobs of this GitHub deployment environment (its `environment` claim).")
@click.option("--ref", metavar="REF", help="Only jobs on this git ref (e.g. refs/heads/main).")
@click.option("--scope", "scopes", multiple=True, required=True, metavar="SCOPE",
              help="deploy:<env>, run:<env> or read (repeatable; never admin).")
@click.option("--user", metavar="NAME", help="Whom the keys belong to (default oidc:<ID>).")
def trust_add(issuer: str, audience: str, repository_id: str, environment: str | None,
              ref: str | None, scopes: tuple[str, ...], user: str | None) -> int:
    """Add a rule: matching CI tokens are exchanged for a short-lived key.

    \b
    A matching token (signature by the issuer's published keys, not expired) is
    exchanged by the team server for a key that expires in 15 minutes, with the
    rule's scopes, for the rule's user. While that user has no role of its own,
    the keys act with the roles of the owner who added the rule. Access control
    must be on; managing rules needs an owner's admin key.

    \b
    Examples:
      flexor trust add --issuer https://token.actions.githubusercontent.com \\
          --audience flexor --repository-id 123456789 --environment production \\
          --scope deploy:production --scope read
      flexor trust add --issuer https://token.actions.githubusercontent.com \\
          --audience flexor --repository-id 123456789 --ref refs/heads/main \\
          --scope deploy:staging --user ci-staging --json
    """
    from flexor_iac.commands import trust as command

    current = settings()
    request = command.NewRule(issuer, audience, repository_id, tuple(dict.fromkeys(scopes)),
                              environment, ref, user)
    return command.add(current.paths(), request, current.console())


@trust.command("list")
@global_options
def trust_list() -> int:
    """List the trust rules.

    \b
    Examples:
      flexor trust list
      flexor trust list --json
    """
    from flexor_iac.commands import trust as command

    current = settings()
    return command.list_rules(current.paths(), current.console())


@trust.command("remove")
@global_options
@click.argument("rule_id")
def trust_remove(rule_id: str) -> int:
    """Remove a trust rule; the keys it made stop working at once.

    \b
    Example:
      flexor trust remove T-1a2b3c4d
    """
    from flexor_iac.commands import trust as command

    current = settings()
    return command.remove(current.paths(), rule_id, current.console())


def register(group: click.Group) -> None:
    """Add the trust verbs to the `flexor` group."""
    group.add_command(trust)
