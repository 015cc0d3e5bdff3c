"""The console's buttons run the CLI's verbs: never with an argument that reads as a path on
the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest

from flexor_iac.api.runner import Runner
from flexor_iac.console import actions
from flexor_iac.console.sessions import Session
from flexor_iac.core.errors import UsageError
from flexor_iac.core.workspace import ProjectPaths


def test_a_name_that_reads_as_a_server_path_is_refused_before_any_verb_runs() -> None:
    argv = actions.agent_argv("pause", "staging", "--project-dir=/etc")
    with pytest.raises(UsageError, match="names a path on the server"):
        asyncio.run(actions.perform(Runner(), ProjectPaths(Path("/nonexistent")), "",
                                    cast(Session, None), argv))
