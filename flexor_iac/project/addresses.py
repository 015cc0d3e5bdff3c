"""The addresses a project names, and what each must look like: PlexiFact catalog URIs, the
URLs notifications are sent to, and the HTTP paths webhook triggers listen on.

Each function says why a value is not acceptable (None: it is), in words a diagnostic or a
refusal can use as they are. `flexor validate` reports them; the runtime refuses the same
values again where it uses them (a catalog's file, a server's routes).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

CATALOG_SCHEME = "plexifact"
# plexifact://<host>/<path>: host labels and path segments of unreserved characters, none of
# them `.` or `..` (a catalog's file lies under .flexor/plexifact/ by this name).
_CATALOG = re.compile(r"^plexifact://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*"
                      r"(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$")
WEB_SCHEMES = ("https", "http")
# A webhook path: absolute, segments of unreserved characters, none empty, `.` or `..`.
_PATH = re.compile(r"^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$")
# Paths `flexor serve` answers itself.
RESERVED_PATHS = ("/healthz", "/metrics", "/api")
ENV_REFERENCE = "env:"  # a value read from the environment when the run needs it


def catalog_uri_problem(uri: str) -> str | None:
    """Why `uri` is not a PlexiFact catalog URI such as plexifact://staging/catalog."""
    if _CATALOG.match(uri):
        return None
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    if scheme != CATALOG_SCHEME:
        return f"{uri!r} is not a PlexiFact catalog URI (expected plexifact://<host>/<name>, " \
               "such as plexifact://staging/catalog)"
    return f"{uri!r} is not a PlexiFact catalog URI: a host and a path of letters, digits, " \
           "`-`, `_`, `~` and `.` are allowed, with no `..`, `//`, `%`, query or credentials"


def web_url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) URL a notification may be sent to (an `env:` reference is
    checked when the run reads it)."""
    if url.startswith(ENV_REFERENCE):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as error:
        return f"{url!r} is not a valid URL ({error})"
    if parts.scheme not in WEB_SCHEMES:
        return f"{url!r} is not an http(s) URL (scheme {parts.scheme or 'none'}); " \
               "notifications go to https:// (or http://) addresses, or name env:VARIABLE"
    if not parts.hostname:
        return f"{url!r} names no host"
    if parts.username is not None or parts.password is not None:
        return f"{url!r} carries credentials; put the whole URL in an environment variable " \
               "and name it as env:VARIABLE"
    return None


def webhook_path_problem(path: str) -> str | None:
    """Why `path` is not a path a webhook trigger may listen on."""
    if not path.startswith("/"):
        return f"webhook path {path!r} is not absolute (start it with `/`)"
    if not _PATH.match(path):
        return f"webhook path {path!r} is not a plain path: segments of letters, digits, " \
               "`-`, `_`, `~` and `.`, none empty, `.` or `..`, and no query"
    for reserved in RESERVED_PATHS:
        if path == reserved or path.startswith(f"{reserved}/"):
            return f"webhook path {path!r} is taken by `flexor serve` itself ({reserved})"
    return None


def default_webhook_path(agent: str) -> str:
    """Where a webhook agent listens when its trigger names no `path`."""
    return f"/hooks/{agent}"
