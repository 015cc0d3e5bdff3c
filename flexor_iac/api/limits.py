"""The API's bounds on what a request may send, applied before anything reads it (no key is
checked, no JSON parsed, for a body past its limit): 1 MiB, and for uploads what one upload
batch may hold (remote/protocol.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flexor_iac.remote.protocol import MAX_UPLOAD_BODY

DEFAULT_BODY = 1 << 20
BODIES = {"/files": MAX_UPLOAD_BODY, "/commands": 8 << 20}  # a listing of 20,000 files


class TooLarge(Exception):
    """The body passed its limit."""


class BodyLimit:
    """ASGI middleware: 413 for a declared or streamed body larger than its path's limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = BODIES.get(scope.get("path", "").removeprefix(scope.get("root_path", "")),
                           DEFAULT_BODY)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge
            return message
        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = b'{"error": "the body is larger than %d bytes"}' % limit
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
