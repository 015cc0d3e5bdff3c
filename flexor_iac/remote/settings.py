"""Where the team server is and which key the client presents: `--server`, else
$FLEXOR_SERVER, else `flexor:server` in Pulumi.yaml; the key from $FLEXOR_API_KEY.

A key is never sent over plain HTTP to a host other than this machine's loopback, unless the
user says so with FLEXOR_INSECURE_HTTP=1 (a test rig, a private network behind a proxy)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flexor_iac.core.errors import UsageError
from flexor_iac.project.settings import pulumi_yaml_setting

SERVER_VARIABLE = "FLEXOR_SERVER"
SERVER_CONFIG_KEY = "flexor:server"
INSECURE_VARIABLE = "FLEXOR_INSECURE_HTTP"
KEY_VARIABLE = "FLEXOR_API_KEY"
CA_VARIABLE = "FLEXOR_CA_BUNDLE"
HERE = "local"  # the server's name for "no server: run here"
# The verbs a client sends; `validate`, `init`, `schema` and `completion` run on the client,
# `serve` and `db` only where the database is.
REMOTE_VERBS = frozenset({
    "deploy", "sync", "run", "rollback", "status", "logs", "audit", "history", "pause",
    "resume", "agents", "keys", "access", "requests", "approve", "reject", "plexifact", "trust"})
# Verbs that change nothing: the server stops them when their client goes away (a change
# runs to its end, so nothing is left half-applied).
READ_VERBS = frozenset({"status", "logs", "audit", "history", "agents", "requests"})


@dataclass(frozen=True)
class Remote:
    """A team server to send verbs to."""

    url: str  # without a trailing slash
    key: str
    verify: str | bool = True  # a CA bundle's path, or the system's trust


def configured_server(root: Path | None) -> str | None:
    """Pulumi.yaml's `flexor:server`, if the project names one."""
    return None if root is None else pulumi_yaml_setting(root, SERVER_CONFIG_KEY)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str) -> str:
    """The server's URL, or UsageError: http(s), a host, and plain HTTP only to loopback
    unless FLEXOR_INSECURE_HTTP=1."""
    shown = url if len(url) <= 80 else f"{url[:80]}…"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"team server {shown!r}: give its URL, such as "
                         "https://flexor.example:8470")
    if parts.scheme == "http" and not _loopback(host) \
            and os.environ.get(INSECURE_VARIABLE) != "1":
        raise UsageError(f"team server {url}: plain HTTP would send the API key unencrypted; "
                         f"use https:// (or set {INSECURE_VARIABLE}=1 to send it anyway)")
    return url.strip().rstrip("/")


def remote(given: str | None, root: Path | None) -> Remote | None:
    """The team server the verbs go to (None: run them here). `local` (`--server local`,
    FLEXOR_SERVER=local) runs them here whatever Pulumi.yaml names: where the database is, and
    the verbs the team server itself runs."""
    url = given or os.environ.get(SERVER_VARIABLE) or configured_server(root)
    if not url or url.strip() == HERE:
        return None
    bundle = os.environ.get(CA_VARIABLE)
    return Remote(checked_url(url), os.environ.get(KEY_VARIABLE, "").strip(), bundle or True)
