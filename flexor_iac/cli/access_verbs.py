"""The access verbs of the `flexor` command line: keys, access, requests, approve.

Click-aware like main.py (which registers these on its group); each command is thin.
"""

from __future__ import annotations

import click

from flexor_iac.cli.options import global_options, settings

ROLE_NAMES = ("viewer", "operator", "admin", "owner")


@click.group()
def keys() -> None:
    """API keys (FLEXOR_API_KEY): scopes, expiry, revocation."""


@keys.command("create")
@global_options
@click.option("--name", required=True, help="What the key is for (e.g. ci-production).")
@click.option("--user", required=True, metavar="USER", help="Whose key it is (roles apply).")
@click.option("--scope", "scopes", multiple=True, required=True, metavar="SCOPE",
              help="deploy:<env>, run:<env>, read or admin (repeatable).")
@click.option("--expires", metavar="DURATION", help="Lifetime such as 90d, 12h, 2w (1h to 36500d).")
@click.option("--secret-only", is_flag=True,
              help="Print only the secret on stdout (the rest on stderr), for "
                   "`export FLEXOR_API_KEY=$(flexor keys create … --secret-only)`.")
def keys_create(name: str, user: str, scopes: tuple[str, ...], expires: str | None,
                secret_only: bool) -> int:
    """Create an API key and print its secret once (only a salted hash is kept).

    \b
    The first key switches access control on: it needs scope admin, and its user
    becomes owner of every vault. Later keys need an owner's admin key.

    \b
    Examples:
      flexor keys create --name ci-prod --user ci@fund.com --scope deploy:production --expires 90d
      flexor keys create --name me --user alice@fund.com --scope admin --scope read
      export FLEXOR_API_KEY=$(flexor keys create --name me --user alice@fund.com \\
          --scope admin --scope deploy:production --secret-only)
    """
    from flexor_iac.commands import keys as command
    from flexor_iac.core.moments import parse_duration

    lifetime = parse_duration(expires, "--expires") if expires else None
    current = settings()
    return command.create(current.paths(), command.NewKey(name, user, tuple(dict.fromkeys(
        scopes)), lifetime, secret_only), current.console())


@keys.command("list")
@global_options
def keys_list() -> int:
    """List API keys (never their secrets).

    \b
    Example:
      flexor keys list --json
    """
    from flexor_iac.commands import keys as command

    current = settings()
    return command.list_keys(current.paths(), current.console())


@keys.command("revoke")
@global_options
@click.argument("key_id")
def keys_revoke(key_id: str) -> int:
    """Revoke the key KEY_ID; it stops working at once.

    \b
    Example:
      flexor keys revoke 3e78ac14a5e8
    """
    from flexor_iac.commands import keys as command

    current = settings()
    return command.revoke(current.paths(), key_id, current.console())


@click.group()
def access() -> None:
    """Roles per vault: viewer < operator < admin < owner."""


@access.command("grant")
@global_options
@click.option("--user", required=True, metavar="USER", help="Who gets the role.")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES), help="The role.")
@click.option("--vault", metavar="NAME", help="Only on this vault (default: every vault).")
@click.option("--new-user", is_flag=True,
              help="USER is someone new, though the name is close to a known user's.")
def access_grant(user: str, role: str, vault: str | None, new_user: bool) -> int:
    """Give a user a role on a vault (or on every vault).

    \b
    operator deploys to sandbox; admin deploys everywhere and edits L2 vaults;
    owner also manages keys and roles. A vault the project does not have is
    refused, and so is a user flexor has not seen whose name is close to a
    known one (a typo?) unless --new-user says so.

    \b
    Examples:
      flexor access grant --user alice@fund.com --role operator --vault company
      flexor access grant --user bob@fund.com --role viewer
    """
    from flexor_iac.commands import access as command

    current = settings()
    return command.grant(current.paths(), user, role, vault, current.console(), new_user)


@access.command("list")
@global_options
@click.option("--user", metavar="USER", help="Only this user's roles.")
def access_list(user: str | None) -> int:
    """List the roles granted.

    \b
    Example:
      flexor access list --user alice@fund.com
    """
    from flexor_iac.commands import access as command

    current = settings()
    return command.list_grants(current.paths(), user, current.console())


@access.command("revoke")
@global_options
@click.option("--user", required=True, metavar="USER", help="Whose role to take away.")
@click.option("--vault", metavar="NAME", help="The vault (default: the every-vault grant).")
def access_revoke(user: str, vault: str | None) -> int:
    """Take a user's role on a vault away.

    \b
    Example:
      flexor access revoke --user alice@fund.com --vault company
    """
    from flexor_iac.commands import access as command

    current = settings()
    return command.revoke(current.paths(), user, vault, current.console())


@click.group()
def requests() -> None:
    """Deployment requests of a PLEXI-managed production."""


@requests.command("list")
@global_options
def requests_list() -> int:
    """List deployment requests, newest first.

    \b
    Example:
      flexor requests list
    """
    from flexor_iac.commands import requests as command

    current = settings()
    return command.list_requests(current.paths(), current.console())


@requests.command("show")
@global_options
@click.argument("request_id")
def requests_show(request_id: str) -> int:
    """Show one request: who, when, its review period and the exact plan.

    \b
    Example:
      flexor requests show R-1a2b3c4d
    """
    from flexor_iac.commands import requests as command

    current = settings()
    return command.show(current.paths(), request_id, current.console())


@click.command()
@global_options
@click.argument("request_id")
def approve(request_id: str) -> int:
    """Approve a deployment request (an admin who did not make it, after 48 h of review).

    \b
    Example:
      flexor approve R-1a2b3c4d
    """
    from flexor_iac.commands import requests as command

    current = settings()
    return command.approve(current.paths(), request_id, current.console())


@click.command()
@global_options
@click.argument("request_id")
def reject(request_id: str) -> int:
    """Reject a pending deployment request (an admin who did not make it).

    \b
    Example:
      flexor reject R-1a2b3c4d
    """
    from flexor_iac.commands import requests as command

    current = settings()
    return command.reject(current.paths(), request_id, current.console())


def register(group: click.Group) -> None:
    """Add the access verbs to the `flexor` group."""
    for command in (keys, access, requests, approve, reject):
        group.add_command(command)
