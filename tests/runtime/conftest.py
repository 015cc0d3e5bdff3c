"""Runtime tests: a server that redirects every POST (notifications must not follow it)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.helpers.http_servers import serving


@pytest.fixture
def redirector(hooks: HTTPServer) -> Iterator[HTTPServer]:
    """A server on 127.0.0.1 that answers every POST with a 307 to the `hooks` server."""
    target = f"{hooks.url}/stolen"  # type: ignore[attr-defined]

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(307)  # 307 keeps the method and body if followed
            self.send_header("Location", target)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    with serving(HTTPServer(("127.0.0.1", 0), Redirect)) as server:
        yield server
