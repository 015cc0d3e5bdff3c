"""Which verbs the team server runs for a client, and the arguments it refuses.

The server runs a verb on a copy of the client's files, never on its own: arguments that
would name a path on the server (`--project-dir`, `--plan-out`, `--plan`, a data file to
load) are refused; saved plans travel as ids (`CommandRequest.plan_out/plan_id`).
"""

from __future__ import annotations

from flexor_iac.core.errors import UsageError
from flexor_iac.remote.settings import READ_VERBS as READ_VERBS
from flexor_iac.remote.settings import REMOTE_VERBS

_SERVER_PATHS = ("--project-dir", "--plan-out", "--plan", "--server")


def verb_of(argv: list[str]) -> str:
    """The verb of `argv` (its first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), "")


def check(argv: list[str]) -> str:
    """The verb of `argv`, or UsageError when the server does not run it as given."""
    verb = verb_of(argv)
    if verb not in REMOTE_VERBS:
        raise UsageError(f"the team server does not run `flexor {verb or '(no verb)'}`; "
                         "run it where the project is")
    for word in argv:
        name = word.split("=", 1)[0]
        if name in _SERVER_PATHS:
            raise UsageError(f"{name} names a path on the server; the client sends the "
                             "project's files and saved plans by id")
    if verb == "plexifact" and "load" in argv and _positional_after(argv, "load"):
        raise UsageError("plexifact load SOURCE reads a file; on a team server load the demo "
                         "data (no SOURCE), or load the file where the database is")
    return verb


def _positional_after(argv: list[str], word: str) -> bool:
    rest = argv[argv.index(word) + 1:]
    skip = False
    for token in rest:
        if skip:
            skip = False
        elif token in ("--env",):
            skip = True
        elif not token.startswith("-"):
            return True
    return False
