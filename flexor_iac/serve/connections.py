"""The connections `flexor serve` accepts: uvicorn's HTTP/1.1 protocol, with two limits it lacks.

* A request's headers must arrive within `read_timeout` of its first byte (or of the
  connection, for a client that says nothing): a client sending them a byte at a time is
  answered 408 and cut off. (The body has the same time, enforced where the app reads it.)
* One client address holds at most `per_client` connections at once; the next is answered 429
  and closed, so one client cannot take every socket.

Refusals are one-line JSON like every other error of the server, written straight to the
socket: no request was parsed, so there is nothing to answer through the application.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a cap per client address."""

    read_timeout = 10.0
    per_client = 64

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        address = self.client[0] if self.client else None
        if address is not None and self._open_from(address) > self.per_client:
            self._refuse(HTTPStatus.TOO_MANY_REQUESTS, f"{self.per_client} connections from "
                         f"{address} are open; close one before opening another")
            return
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._await_headers()  # the first bytes of a request (a new one on keep-alive)
        else:
            self._headers_arrived()

    def on_response_complete(self) -> None:
        self._headers_arrived()  # until the next request, uvicorn's keep-alive timeout holds
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def _open_from(self, address: str) -> int:
        return sum(1 for other in self.connections
                   if isinstance(other, H11Protocol) and other.client
                   and other.client[0] == address)

    def _await_headers(self) -> None:
        if getattr(self, "_header_deadline", None) is None:
            self._header_deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _headers_arrived(self) -> None:
        if (deadline := getattr(self, "_header_deadline", None)) is not None:
            deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._refuse(HTTPStatus.REQUEST_TIMEOUT,
                         f"the request did not arrive within {self.read_timeout:g} s")

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        body = json.dumps({"error": message}, separators=(",", ":")).encode()
        self.transport.write(
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
        self.transport.close()


def guarded(read_timeout: float, per_client: int) -> type[GuardedH11Protocol]:
    """The protocol class for one server's limits (uvicorn builds one instance a connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"read_timeout": read_timeout, "per_client": per_client})
