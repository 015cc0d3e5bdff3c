"""The console's buttons run the CLI's own verbs: `python -m flexor_iac.main ARGS` in the
server's project folder (the one `flexor serve` was started in), with the session's key, on
the team database (api/runner.py) — so every policy decision (scopes, roles, the request's
maker, windows) is the verb's, exactly as on a terminal. The page shows the verb's lines and
its exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flexor_iac.api import verbs
from flexor_iac.api.runner import Invocation, Runner
from flexor_iac.console.sessions import Session
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths

AGENT_ACTIONS = ("run", "pause", "resume", "rollback")
REQUEST_ACTIONS = ("approve", "reject")
EXIT_MEANINGS = {0: "done", 1: "failed", 2: "changes present", 3: "refused by policy",
                 4: "internal error", 64: "usage error"}


@dataclass(frozen=True)
class Outcome:
    """What a verb printed, and how it ended."""

    argv: list[str]
    exit_code: int
    lines: list[str] = field(default_factory=list)

    @property
    def meaning(self) -> str:
        """`done`, `refused by policy`, …"""
        return EXIT_MEANINGS.get(self.exit_code, "failed")

    @property
    def command(self) -> str:
        """The verb as a terminal would run it."""
        return "flexor " + " ".join(self.argv)


def agent_argv(action: str, env: str, agent: str, version: str | None = None) -> list[str]:
    """The verb behind an agent's button."""
    if action == "run":
        return ["run", agent, "--now", "--env", env]
    if action == "rollback":
        return ["rollback", "--agent", agent, "--env", env, "--yes",
                *(["--version", version] if version else [])]
    return [action, "--agent", agent, "--env", env]


def request_argv(action: str, request_id: str) -> list[str]:
    """The verb behind a request's button."""
    return [action, request_id]


async def perform(runner: Runner, paths: ProjectPaths, database_url: str, session: Session,
                  argv: list[str]) -> Outcome:
    """Run the verb with the session's key; its output lines and exit code. A name from the
    page that would read as a path on the server (`--project-dir=…`) is refused as the API
    refuses it (UsageError)."""
    verbs.check(argv)
    invocation = Invocation(argv, paths.root, session.token, session.principal.user,
                            database_url)
    lines: list[str] = []
    code = int(ExitCode.INTERNAL)
    async for raw in runner.stream(invocation, read_only=False):
        event = json.loads(raw)
        if "exit" in event:
            code = int(event["exit"])
        elif "out" in event or "err" in event:  # not a keep-alive
            lines.append(str(event.get("out", event.get("err", ""))))
    return Outcome(argv, code, lines)
