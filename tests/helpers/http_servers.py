"""Local HTTP servers for the tests, answering in a thread and stopped quickly."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

Server = TypeVar("Server", bound=socketserver.BaseServer)

# How often the serving loop looks whether it must stop: shutdown() waits for that look, which
# is 0.5 s by default (it never delays a request: one is handled as soon as it arrives).
POLL_SECONDS = 0.02


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """`server` answering in a daemon thread until the block ends; then stopped and closed."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
