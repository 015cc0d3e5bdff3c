"""The server's HTTP face (Starlette): webhooks, /healthz and /metrics.

`POST <path>` (an agent's `trigger.path`, default `/hooks/<agent>`) with a JSON object queues
a run of that agent, the object being the run's `event`/`inputs`: 202 with the run id. Errors
are one-line JSON `{"error": …}`: 401 no valid key, 403 a key without `run:<env>`, 404 no
webhook agent there, 409 the agent is paused or the environment does not fire webhooks,
413 body too large, 415 not JSON, 400 an empty body or not a JSON object, 408 a body that did
not arrive within the read timeout, 503 stopping, busy (MAX_WAITING runs queued) or the queue
unreachable. Slow headers and too many connections from one address: serve/connections.py.

A key is needed as soon as access control is on (any key exists) or the environment requires
one; a verified key is remembered for a minute (revoking takes effect within it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from flexor_iac.access.policy import REQUIRE_VARIABLE, Gate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.project.parse_cache import Key, file_key, settled
from flexor_iac.remote.protocol import API_PREFIX
from flexor_iac.serve.service import Service

KEY_MEMORY_SECONDS = 60.0
MAX_REMEMBERED = 10_000  # verdicts kept (a flood of wrong keys empties it)
MAX_WAITING = 10_000  # queued runs beyond which a webhook is answered 503
DEPTH_SECONDS = 0.5  # how long a reading of the queue's depth stands for the 503 above
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class TooLarge(Exception):
    """The body passed the limit."""


def _error(status: int, message: str, close: bool = False) -> JSONResponse:
    """The one-line JSON error; `close`: the connection too (the request was not read whole)."""
    return JSONResponse({"error": message}, status_code=status,
                        headers={"connection": "close"} if close else None)


class Keys:
    """Who may fire webhooks: Bearer keys checked against the control plane.

    Keys are checked on a thread and connection of their own (an Argon2 check is slow: a flood
    of wrong keys must not delay the schedules), and each key's verdict, granted or not, is
    remembered for KEY_MEMORY_SECONDS.
    """

    def __init__(self, service: Service) -> None:
        self.service = service
        self._known: dict[str, tuple[float, int]] = {}  # key digest -> (when, 0 | 401 | 403)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flexor-keys")
        self._store: ControlPlane | None = None
        self._open_stack: Key | None = None  # a stack file read as requiring no key
        self._queued: dict[str, asyncio.Future[tuple[bool, int]]] = {}  # digest -> not started
        self._queue_lock = threading.Lock()

    def _verdict(self, token: str) -> tuple[bool, int]:
        """(whether a key is needed, 0 or the refusal's status), on the keys' thread."""
        if self._store is None:
            self._store = ControlPlane(self.service.where)
        env = self.service.environment
        if self._open(self._store, env):
            return False, 0
        gate = Gate(self.service.paths.root, self._store, token)
        if not (self._store.has_keys() or gate.required(env)):
            return False, 0
        principal = gate.principal() if token else None
        if principal is None:
            return True, 401
        return True, 0 if principal.may(f"run:{env.value}") else 403

    def _open(self, store: ControlPlane, env: Environment) -> bool:
        """Whether access control is off, cheaply (it is asked on every webhook then): no key
        and no recorded protection (one read), and a stack file that did not require keys,
        unchanged since it was read (its key as git's index has it, change time included, and
        settled: a rewrite keeping size and mtime is seen). Else the gate decides."""
        if os.environ.get(REQUIRE_VARIABLE) == "1" or not store.unprotected(env.value):
            return False
        name = f"Pulumi.{env.value}.yaml"
        seen = file_key(self.service.paths.root / name, name)
        if seen is not None and seen == self._open_stack:
            return True
        is_open = not Gate(self.service.paths.root, store, "").declared(env).require_api_key
        self._open_stack = seen if is_open and seen is not None and settled(seen) else None
        return is_open

    def _queued_verdict(self, token: str, digest: str) -> asyncio.Future[tuple[bool, int]]:
        """The verdict on `token`, joining the one queued for it if it has not started: every
        request it answers came before it was looked up (a key made meanwhile counts)."""
        with self._queue_lock:
            if (queued := self._queued.get(digest)) is None:
                queued = asyncio.wrap_future(self._pool.submit(self._start, token, digest))
                self._queued[digest] = queued
            return queued

    def _start(self, token: str, digest: str) -> tuple[bool, int]:
        with self._queue_lock:  # from now on, a request queues a verdict of its own
            self._queued.pop(digest, None)
        return self._verdict(token)

    async def refusal(self, request: Request) -> JSONResponse | None:
        """None when the request may fire a run here, else the 401/403 response."""
        env = self.service.env
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        digest = hashlib.sha256(token.encode()).hexdigest()
        remembered = self._known.get(digest)
        if remembered and time.monotonic() - remembered[0] < KEY_MEMORY_SECONDS:
            status = remembered[1]
        else:
            try:
                needed, status = await self._queued_verdict(token, digest)
            except Exception as error:  # the control plane lost: no verdict, nothing run
                return _error(503, f"the key could not be checked: {error}")
            if needed:  # without access control, nothing to remember: it may come on
                if len(self._known) > MAX_REMEMBERED:
                    self._known.clear()
                self._known[digest] = (time.monotonic(), status)
        if status == 401:
            return _error(401, f"a webhook in {env} needs an API key with scope run:{env} "
                               "(Authorization: Bearer <key>)")
        if status == 403:
            return _error(403, f"this key's scopes do not include run:{env}")
        return None

    def close(self) -> None:
        """Release the keys' thread and connection."""
        self._pool.shutdown(wait=True)
        if self._store is not None:
            self._store.close()


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def application(services: list[Service], api: ASGIApp | None = None,
                pages: list[BaseRoute] | None = None) -> Starlette:
    """The server's ASGI application: each served environment's webhooks, and in team mode
    the team server's API under /api/v1 (`api`) and the operator console's routes (`pages`,
    flexor_iac/console/: before the webhooks, whose catch-all would take any path). One
    environment's webhooks are at the root (`/hooks/AGENT`); with several, each
    environment's are under its name (`/staging/hooks/AGENT`, `/staging/healthz`,
    `/staging/metrics`)."""
    mounted: list[BaseRoute] = [Mount(API_PREFIX, app=api)] if api is not None else []
    mounted += pages or []
    if len(services) == 1:
        app = _service_application(services[0], mounted)
        app.state.keys = [app.state.keys]
        return app
    apps = {service.env: _service_application(service, []) for service in services}

    async def healthz(_request: Request) -> Response:
        parts = {env: await service.health() for env, service in
                 zip(apps, services, strict=True)}
        healthy = all(v == "ok" for found in parts.values() for v in found.values())
        return JSONResponse({"status": "ok" if healthy else "unhealthy",
                             "environments": parts}, status_code=200 if healthy else 503)

    app = Starlette(routes=[*mounted, Route("/healthz", healthz, methods=["GET"]),
                            *(Mount(f"/{env}", app=sub) for env, sub in apps.items())])
    app.state.keys = [sub.state.keys for sub in apps.values()]
    return app


def _service_application(service: Service, mounted: list[BaseRoute]) -> Starlette:
    keys = Keys(service)
    env = service.env

    depth = [-DEPTH_SECONDS, 0]  # when the queue's depth was read (monotonic), and it

    async def waiting() -> int:
        """Runs waiting in the queue, read at most every DEPTH_SECONDS (not once a request;
        requests arriving while it is read take the reading before)."""
        if time.monotonic() - depth[0] >= DEPTH_SECONDS:
            depth[0] = time.monotonic()
            depth[1] = await service.queue.depth()
        return int(depth[1])

    async def hook(request: Request) -> Response:
        refused = await keys.refusal(request)  # before 404: no key learns the agents' names
        if refused is not None:
            return refused
        path = "/" + request.path_params["path"]
        name = service.roster.paths.get(path)
        agent = service.roster.agents.get(name) if name else None
        if agent is None:
            return _error(404, f"no webhook agent at {path} in {env}")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return _error(415, "send the event as JSON (Content-Type: application/json)")
        options = service.options
        try:
            raw = await asyncio.wait_for(_body(request, options.max_body), options.read_timeout)
            if not raw.strip():
                return _error(400, "the body is empty: send the event as a JSON object "
                                   "({} for none)")
            body = json.loads(raw)
        except TooLarge:
            return _error(413, f"the body is larger than {options.max_body} bytes")
        except TimeoutError:
            return _error(408, f"the request did not arrive within {options.read_timeout:g} s",
                          close=True)
        except ClientDisconnect:
            return _error(400, "the request ended early")
        except (ValueError, RecursionError):
            return _error(400, "the body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object (the run's event)")
        if "webhook" not in service.roster.enabled:
            return _error(409, f"{env} does not fire webhook triggers (flexor:triggers in "
                               f"Pulumi.{env}.yaml)")
        if agent.paused:
            return _error(409, f"agent {agent.name} is paused in {env}")
        if service.stopping:
            return _error(503, "the server is stopping")
        try:
            if await waiting() >= MAX_WAITING:
                return _error(503, f"the server is busy: {MAX_WAITING} runs are waiting")
            job = await service.webhook(agent, body)
        except Exception as error:  # the queue's database lost: nothing was queued
            return _error(503, f"the run could not be queued: {error}")
        return JSONResponse({"run_id": job.run_id, "agent": agent.name, "environment": env,
                             "status": "queued"}, status_code=202)

    async def healthz(_request: Request) -> Response:
        parts = await service.health()
        healthy = all(value == "ok" for value in parts.values())
        return JSONResponse({"status": "ok" if healthy else "unhealthy", "environment": env,
                             **parts}, status_code=200 if healthy else 503)

    async def metrics(_request: Request) -> Response:
        return Response(service.metrics.text(), media_type=PROMETHEUS)

    async def wrong_method(request: Request) -> Response:
        return _error(405, f"{request.method} {request.url.path}: use POST for webhooks")

    app = Starlette(routes=[
        *mounted,
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/{path:path}", hook, methods=["POST"]),
        Route("/{path:path}", wrong_method, methods=["GET", "PUT", "DELETE", "PATCH"]),
    ])
    app.state.keys = keys
    return app
