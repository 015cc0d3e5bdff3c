"""The server's HTTP face (Starlette): webhooks, /healthz and /metrics.

`POST <path>` (an agent's `trigger.path`, default `/hooks/<agent>`) with a JSON object queues
a run of that agent, the object being the run's `event`/`inputs`: 202 with the run id. Errors
are one-line JSON `{"error": …}`: 401 no valid key, 403 a key without `run:<env>`, 404 no
webhook agent there, 409 the agent is paused or the environment does not fire webhooks,
413 body too large, 415 not JSON, 400 not a JSON object.

A key is needed as soon as access control is on (any key exists) or the environment requires
one; a verified key is remembered for a minute (revoking takes effect within it).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.serve.service import Service

KEY_MEMORY_SECONDS = 60.0
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class TooLarge(Exception):
    """The body passed the limit."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Keys:
    """Who may fire webhooks: Bearer keys checked against the control plane (remembered)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._known: dict[str, tuple[float, bool]] = {}  # key digest -> (when, may run)

    async def refusal(self, request: Request) -> JSONResponse | None:
        """None when the request may fire a run here, else the 401/403 response."""
        env = self.service.options.environment
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        digest = hashlib.sha256(token.encode()).hexdigest()
        remembered = self._known.get(digest)
        if remembered and time.monotonic() - remembered[0] < KEY_MEMORY_SECONDS:
            may = remembered[1]
            needed = True
        else:
            needed, principal = await self.service.call(
                lambda store: _check(self.service, store, env, token))
            may = principal is not None and principal.may(f"run:{env.value}")
            if needed and principal is not None:
                self._known[digest] = (time.monotonic(), may)
            if needed and principal is None:
                return _error(401, f"a webhook in {env.value} needs an API key with scope "
                                   f"run:{env.value} (Authorization: Bearer <key>)")
        if needed and not may:
            return _error(403, f"this key's scopes do not include run:{env.value}")
        return None


def _check(service: Service, store: ControlPlane, env: Environment, token: str
           ) -> tuple[bool, Any]:
    gate = Gate(service.paths.root, store, token)
    needed = store.has_keys() or gate.required(env)
    return needed, gate.principal() if needed and token else None


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


def application(service: Service) -> Starlette:
    """The server's ASGI application."""
    keys = Keys(service)
    env = service.env

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
        try:
            body = json.loads(await _body(request, service.options.max_body) or b"{}")
        except TooLarge:
            return _error(413, f"the body is larger than {service.options.max_body} bytes")
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
        job = await service.webhook(agent, body)
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

    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/{path:path}", hook, methods=["POST"]),
        Route("/{path:path}", wrong_method, methods=["GET", "PUT", "DELETE", "PATCH"]),
    ])
