"""The team server's HTTP API, `/api/v1` (FastAPI; its OpenAPI description at
`/api/v1/openapi.json`).

Every call but `GET /version` carries `Authorization: Bearer <API key>`. Errors are one-line
JSON `{"error": …}`: 401 no valid key, 400 a request the server refuses as given, 409 files
to upload first (`{"missing": [digest…]}`), 413 too large, 503 the database unreachable.
A verb's output is streamed as newline-delimited JSON events (remote/protocol.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp

from flexor_iac import __version__
from flexor_iac.access import oidc
from flexor_iac.access.policy import Principal
from flexor_iac.api import verbs
from flexor_iac.api.auth import NO_KEY, WRONG_KEY, Callers, TooManyFailures, bearer
from flexor_iac.api.limits import BodyLimit
from flexor_iac.api.runner import Invocation, Runner, event
from flexor_iac.api.workspaces import MissingContent, Workspaces
from flexor_iac.controlplane.location import scrub
from flexor_iac.controlplane.server_files import SavedPlan
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.errors import FlexorError, PolicyRefusal, UsageError
from flexor_iac.remote.protocol import (
    API_VERSION,
    MAX_FILE_BYTES,
    MAX_UPLOAD_BODY,
    CommandRequest,
    DigestList,
    MissingFiles,
    OidcToken,
    digest_of,
    valid_digest,
)

T = TypeVar("T")
_log = logging.getLogger("flexor.api")
NDJSON = "application/x-ndjson"


class Refused(Exception):
    """An API error: its HTTP status and one line."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


@dataclass
class ApiServer:
    """What the API needs: the server's project, its team database, where workspaces go."""

    root: Path
    database_url: str
    workspaces: Workspaces
    callers: Callers
    runner: Runner

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="flexor-api")
        # OIDC exchanges wait on issuers (their keys, fetched again for an unknown key id):
        # on threads of their own, so a flood of tokens never holds up the other routes
        self._issuers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="flexor-oidc")
        self._local = threading.local()

    async def call(self, work: Callable[[ControlPlane], T], issuers: bool = False) -> T:
        """`work(store)` on one of the API's threads (or the OIDC exchanges' ones), each with
        its own connection."""
        def on_thread() -> T:
            store = getattr(self._local, "store", None)
            if store is None:
                store = self._local.store = ControlPlane(self.database_url, create=False)
            return work(store)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._issuers if issuers else self._pool, on_thread)
        except (MissingContent, FlexorError, Refused):
            raise
        except OSError as error:  # the workspace's folder: no server path in the answer
            _log.warning("workspace: %s", error)
            raise Refused(500, f"the server could not lay out the files "
                               f"({error.strerror or type(error).__name__})") from None
        except Exception as error:
            _log.warning("control plane: %s", scrub(str(error)))
            raise Refused(503, "the team database is unreachable") from None

    def close(self) -> None:
        """Release the threads and connections."""
        self.callers.close()
        self._pool.shutdown(wait=True)
        self._issuers.shutdown(wait=True)


async def caller(request: Request) -> tuple[str, Principal]:
    """The request's key and its principal, or 401."""
    server: ApiServer = request.app.state.server
    token = bearer(request.headers.get("authorization", ""))
    if not token:
        raise Refused(401, NO_KEY)
    try:
        principal = await server.callers.principal(token, _address(request))
    except TooManyFailures as error:
        raise Refused(429, str(error)) from None
    except Exception as error:
        raise Refused(503, f"the key could not be checked: {error}") from None
    if principal is None:
        raise Refused(401, WRONG_KEY)
    return token, principal


def _address(request: Request) -> str:
    """The client's address (as the connection shows it)."""
    return request.client.host if request.client else ""


Caller = Annotated[tuple[str, Principal], Depends(caller)]


def api_application(server: ApiServer) -> ASGIApp:
    """The `/api/v1` application (mounted by serve/http.py), behind its body limits."""
    return BodyLimit(_routes(server))


def _routes(server: ApiServer) -> FastAPI:
    app = FastAPI(title="flexor team server", version=__version__, docs_url=None,
                  redoc_url=None, description=__doc__)
    app.state.server = server

    @app.exception_handler(Refused)
    async def refused(_request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"error": str(error), **error.extra}, status_code=error.status)

    @app.exception_handler(UsageError)
    async def unusable(_request: Request, error: UsageError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg')}"}, status_code=400)

    @app.get("/version", summary="The server's flexor version and API version (no key)")
    async def version() -> dict[str, Any]:
        return {"flexor": __version__, "api": API_VERSION}

    @app.get("/whoami", summary="The key's user and scopes")
    async def whoami(who: Caller) -> dict[str, Any]:
        principal = who[1]
        return {"user": principal.user, "key_id": principal.key_id,
                "scopes": sorted(principal.scopes)}

    @app.post("/oidc/exchange", summary="Exchange a CI job's OIDC token for a short-lived key "
                                        "(no key needed; see `flexor trust`)")
    async def exchange(body: OidcToken) -> dict[str, Any]:
        try:
            made = await server.call(lambda store: oidc.exchange(store, body.token), issuers=True)
        except PolicyRefusal as refusal:
            raise Refused(401, str(refusal)) from None
        except FlexorError as error:  # the issuer unreachable: no decision was made
            raise Refused(503, str(error)) from None
        return {"key": made.secret, "key_id": made.key_id, "user": made.user,
                "scopes": made.scopes, "expires_at": made.expires_at.isoformat()}

    @app.post("/files/missing", response_model=MissingFiles,
              summary="Which of these file digests the server has no content for")
    async def missing(body: DigestList, _who: Caller) -> MissingFiles:
        bad = [d for d in body.digests if not valid_digest(d)]
        if bad:
            raise Refused(400, f"{bad[0]!r} is not a SHA-256 digest")
        found = await server.call(lambda store: store.missing_files(body.digests))
        return MissingFiles(missing=sorted(found))

    @app.post("/files", summary="Upload files: {\"files\": {sha256: base64 content}}")
    async def upload(request: Request, _who: Caller) -> dict[str, int]:
        files = _decoded(await _json_body(request, MAX_UPLOAD_BODY))
        await server.call(lambda store: store.store_files(files))
        return {"stored": len(files)}

    @app.post("/commands", summary="Run a verb; its output as newline-delimited JSON events",
              response_class=StreamingResponse)
    async def command(body: CommandRequest, who: Caller) -> StreamingResponse:
        token, principal = who
        verb = verbs.check(body.argv)
        if body.plan_id is not None and (body.plan_out or verb != "deploy"):
            raise Refused(400, "--plan ID applies with `deploy` alone")
        try:
            lease = await server.call(
                lambda store: server.workspaces.prepare(store, body.files))
        except MissingContent as lack:
            raise Refused(409, "upload these files first", missing=sorted(lack.missing)) \
                from None
        argv, rewrite, plan_file = list(body.argv), {}, None
        new_plan = f"P-{secrets.token_hex(6)}" if body.plan_out else None
        holder = tempfile.TemporaryDirectory(prefix="flexor-plan-")
        if body.plan_out or body.plan_id:
            plan_file = Path(holder.name) / "plan.json"
            if body.plan_id is not None:
                saved = await server.call(lambda store: store.saved_plan(body.plan_id or ""))
                if saved is None:
                    holder.cleanup()
                    lease.release()
                    raise Refused(400, f"--plan {body.plan_id}: no plan saved on the server "
                                       "under that id (save one with --plan-out)")
                plan_file.write_bytes(saved.content)
                argv += ["--plan", str(plan_file)]
            else:
                argv += ["--plan-out", str(plan_file)]
            rewrite[str(plan_file)] = body.plan_id or new_plan or ""
        invocation = Invocation(argv, lease.path, token, principal.user, server.database_url)

        async def finish(_code: int) -> list[bytes]:
            """Once the verb's process has ended (its client listening or not): keep the plan
            it saved, then drop the temporary folder and let the workspace go."""
            try:
                if new_plan and plan_file is not None and plan_file.is_file():
                    await _save_plan(server, new_plan, plan_file, argv, principal)
                    return [event(plan_id=new_plan)]
                return []
            finally:
                holder.cleanup()
                lease.release()

        # stopped when its client goes away: what only reads or plans (a change runs on)
        reading = verb in verbs.READ_VERBS or body.plan_out or "--dry-run" in argv
        events = server.runner.stream(invocation, reading, rewrite, finish)
        return StreamingResponse(events, media_type=NDJSON)

    return app


async def _save_plan(server: ApiServer, plan_id: str, plan_file: Path, argv: list[str],
                     principal: Principal) -> None:
    env = argv[argv.index("--env") + 1] if "--env" in argv else ""
    plan = SavedPlan(plan_id, env, plan_file.read_bytes(), principal.user, clock.now())
    await server.call(lambda store: store.save_plan(plan))


async def _json_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not valid JSON") from None


def _decoded(body: Any) -> dict[str, bytes]:
    """The uploaded files, each checked against its digest."""
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        raise Refused(400, 'send {"files": {"<sha256>": "<base64>"}}')
    files: dict[str, bytes] = {}
    for digest, encoded in body["files"].items():
        if not valid_digest(digest) or not isinstance(encoded, str):
            raise Refused(400, f"{digest!r}: not a SHA-256 digest with base64 content")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Refused(400, f"{digest}: the content is not base64") from None
        if len(content) > MAX_FILE_BYTES:
            raise Refused(413, f"{digest}: larger than {MAX_FILE_BYTES} bytes")
        if digest_of(content) != digest:
            raise Refused(400, f"{digest}: the content does not have this digest")
        files[digest] = content
    return files
