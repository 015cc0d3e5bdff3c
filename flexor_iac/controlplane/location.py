"""Where a project's control plane is: a team's PostgreSQL (a URL) or the embedded SQLite file.

FLEXOR_DATABASE_URL (or `flexor:database` in Pulumi.yaml's config; the variable wins) switches a
project to team mode; FLEXOR_CONTROL_PLANE names another SQLite file; else `.flexor/`.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flexor_iac.core.errors import ProjectNotFound, UsageError
from flexor_iac.core.workspace import ProjectPaths, find_project
from flexor_iac.project.settings import pulumi_yaml_setting

DB_NAME = "control-plane.db"
DATABASE_VARIABLE = "FLEXOR_DATABASE_URL"
DATABASE_CONFIG_KEY = "flexor:database"
URL_SCHEMES = ("postgresql", "postgres")


def is_url(where: str | Path) -> bool:
    """Whether `where` names a PostgreSQL database (a URL), not a SQLite file."""
    return isinstance(where, str) and where.split("://", 1)[0] in URL_SCHEMES


def _passwords(url: str) -> list[str]:
    """The secrets a URL carries: the password of its user part, and `password=` values."""
    found = []
    _scheme, _, rest = url.partition("://")
    user_part = rest.split("/", 1)[0].rpartition("@")[0]
    if ":" in user_part:
        found.append(user_part.split(":", 1)[1])
    query = url.partition("?")[2]
    found += [value for key, _, value in (pair.partition("=") for pair in query.split("&"))
              if key == "password" and value]
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def redacted(url: str) -> str:
    """The URL without its password(s), for messages, `db status` and what a stack records."""
    return scrub(url, url)


def scrub(text: str, url: str | None = None) -> str:
    """`text` with the password(s) of `url` (default: $FLEXOR_DATABASE_URL) replaced by ***,
    wherever they appear (a driver's message may quote the whole URL)."""
    url = os.environ.get(DATABASE_VARIABLE) if url is None else url
    for secret in _passwords(url or ""):
        text = text.replace(secret, "***")
    return text


def pulumi_backend(url: str) -> str:
    """Pulumi's backend URL for a team database: Pulumi knows the postgres:// scheme only, and
    its driver (Go's lib/pq) takes a URL without `sslmode` as `require` where psycopg takes it
    as `prefer` (TLS when the server offers it): the URL says `prefer` then, so the state goes
    where the control plane goes (unless PGSSLMODE, which both drivers read, chooses)."""
    backend = "postgres://" + url.split("://", 1)[1]
    if "sslmode" in parse_qs(urlsplit(backend).query) or os.environ.get("PGSSLMODE"):
        return backend
    return f"{backend}{'&' if urlsplit(backend).query else '?'}sslmode=prefer"


def _checked(url: str) -> str:
    if not is_url(url):
        raise UsageError(f"{DATABASE_VARIABLE} (or {DATABASE_CONFIG_KEY}) must be a "
                         f"postgresql:// URL, not {redacted(url)!r}")
    return url


def team_database(root: Path) -> str | None:
    """The team database's URL ($FLEXOR_DATABASE_URL, else Pulumi.yaml's `flexor:database`
    unless $FLEXOR_CONTROL_PLANE names a SQLite file); None: the embedded control plane. The
    same precedence as `locate`, so the control plane, the state and the locks never split."""
    if url := os.environ.get(DATABASE_VARIABLE):
        return _checked(url)
    if os.environ.get("FLEXOR_CONTROL_PLANE"):
        return None
    url = pulumi_yaml_setting(root, DATABASE_CONFIG_KEY)
    return _checked(url) if url else None


def named_file() -> str | None:
    """The control plane file the operator named ($FLEXOR_CONTROL_PLANE, unless a team
    database wins), for messages that say where a path came from."""
    if os.environ.get(DATABASE_VARIABLE):
        return None
    return os.environ.get("FLEXOR_CONTROL_PLANE") or None


def locate(start: Path | None = None) -> Path | str:
    """The control plane: $FLEXOR_DATABASE_URL, else $FLEXOR_CONTROL_PLANE (a SQLite file),
    else Pulumi.yaml's `flexor:database`, else the project's `.flexor/control-plane.db`."""
    if url := os.environ.get(DATABASE_VARIABLE):
        return _checked(url)
    if explicit := os.environ.get("FLEXOR_CONTROL_PLANE"):
        return Path(explicit)
    try:
        paths = find_project(start)
    except ProjectNotFound as missing:
        raise FileNotFoundError(f"{missing}: cannot find the control plane") from None
    if url := pulumi_yaml_setting(paths.root, DATABASE_CONFIG_KEY):
        return _checked(url)
    return paths.state_dir / DB_NAME


def backend_url(paths: ProjectPaths) -> str:
    """The Pulumi state backend: $PULUMI_BACKEND_URL, else in team mode Pulumi's `postgres://`
    backend on the team database, else the embedded `file://` folder."""
    if explicit := os.environ.get("PULUMI_BACKEND_URL"):
        return explicit
    if (team := team_database(paths.root)) is not None:
        return pulumi_backend(team)
    return f"file://{paths.backend_dir}"
