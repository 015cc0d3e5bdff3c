"""Who runs flexor without a key: recorded with deployments, requests and role changes."""

from __future__ import annotations

import getpass
import os


def local_actor() -> str:
    """FLEXOR_ACTOR, else the login name."""
    return os.environ.get("FLEXOR_ACTOR") or getpass.getuser()
