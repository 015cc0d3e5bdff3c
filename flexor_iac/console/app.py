"""The operator console's routes, served by `flexor serve` in team mode beside the API.

Pages are GETs at the root (`/`, `/environments…`, `/requests…`, `/audit`); everything the
console posts is under `/console/…` (sign-in, sign-out, the buttons), as are its static files,
so that no webhook path of an environment served at the root is taken by a page (a webhook
path under `/console/` is shadowed: docs/guides/console.md). Every page and button needs a
session (console/sessions.py) whose key still passes the policy; every POST carries the
session's CSRF token. Reads run in process on the API's threads (ApiServer.call); buttons run
the CLI's own verbs (console/actions.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from flexor_iac.api.app import ApiServer, Refused
from flexor_iac.api.auth import TooManyFailures
from flexor_iac.console import views
from flexor_iac.console.sessions import COOKIE, Session, Sessions
from flexor_iac.console.web import (
    SIGNIN_COOKIE,
    STATIC,
    Missing,
    end_session,
    form,
    page,
    redirect,
    safe_next,
    secured,
    set_session,
    signin_form,
)
from flexor_iac.controlplane.pulumi_files import PulumiFiles
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import FlexorError, PolicyRefusal, UsageError
from flexor_iac.core.workspace import ProjectPaths

T = TypeVar("T")
WRONG_KEY = "That key was not accepted (unknown, expired or revoked)."
NO_CSRF = "refused: this form's CSRF token is missing or wrong; reload the page and try again"


class Console:
    """The console of one team server: its sessions, and the API's store access."""

    def __init__(self, server: ApiServer, secure: bool) -> None:
        self.server = server
        self.secure = secure
        self.paths = ProjectPaths(server.root)
        self.sessions = Sessions()

    def files(self, store: ControlPlane) -> PulumiFiles:
        """The Pulumi state's files, read without the engine."""
        return PulumiFiles(store, self.paths.backend_dir, self.server.database_url)

    async def read(self, work: Callable[[ControlPlane], T]) -> T:
        """`work(store)` on one of the API's threads."""
        return await self.server.call(work)

    async def session(self, request: Request) -> Session | None:
        """The request's session, while its key is still valid."""
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return None
        principal = await self.server.callers.principal(session.token)
        if principal is None:
            self.sessions.close(session.session_id)
            return None
        session.principal = principal
        return session

    def routes(self) -> list[BaseRoute]:
        """The console's routes (serve/http.py puts them before an environment's webhooks)."""
        pages: list[tuple[str, Handler]] = [
            ("/", views.home), ("/environments", views.environments),
            ("/environments/{env}/agents", views.agents),
            ("/environments/{env}/agents/{agent}", views.agent),
            ("/environments/{env}/agents/{agent}/rollback", views.confirm_rollback),
            ("/environments/{env}/runs/{run_id}", views.run),
            ("/environments/{env}/deployments", views.deployments),
            ("/requests", views.requests), ("/requests/{request_id}", views.request),
            ("/audit", views.audit), ("/audit.csv", views.audit_csv_file)]
        return [
            Route("/signin", self.signin_page, methods=["GET"]),
            Route("/favicon.ico", _no_icon, methods=["GET"]),
            Route("/console/signin", self.signin, methods=["POST"]),
            Route("/console/signout", self.guarded(views.signout), methods=["POST"]),
            Route("/console/environments/{env}/agents/{agent}/{action}",
                  self.guarded(views.agent_action), methods=["POST"]),
            Route("/console/requests/{request_id}/{action}",
                  self.guarded(views.request_action), methods=["POST"]),
            Mount("/console/static", app=StaticFiles(directory=STATIC), name="static"),
            *(Route(path, self.guarded(handler), methods=["GET"]) for path, handler in pages)]

    async def signin_page(self, request: Request) -> Response:
        """The sign-in form (a visitor already signed in goes on)."""
        if await self.session(request) is not None:
            return redirect(safe_next(request.query_params.get("next")))
        return signin_form(self.secure, target=safe_next(request.query_params.get("next")))

    async def signin(self, request: Request) -> Response:
        """Exchange an API key for a session: checked with the policy's own code."""
        fields = await form(request)
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        target = safe_next(fields.get("next"))
        given = fields.get("signin_token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return signin_form(self.secure, "The sign-in form expired; please try again.",
                               403, target)
        token = fields.get("key", "").strip()
        try:
            principal = await self.server.callers.principal(
                token, request.client.host if request.client else "") if token else None
        except TooManyFailures as refused:
            return signin_form(self.secure, str(refused), 429, target)
        except Exception:  # the database unreachable: no decision, no session
            return signin_form(self.secure, "The key could not be checked now; try again.",
                               503, target)
        if principal is None:
            return signin_form(self.secure, WRONG_KEY, 401, target)
        session = self.sessions.open(token, principal)
        response = set_session(redirect(target), session.session_id, self.secure)
        response.delete_cookie(SIGNIN_COOKIE, path="/console/signin")
        return response

    def guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page or button that needs a session (and for a POST its CSRF token)."""
        async def endpoint(request: Request) -> Response:
            session = await self.session(request)
            fragment = request.query_params.get("fragment") is not None
            if session is None:
                if fragment:  # a live region's refresh: the script stops, the page stays
                    return secured(Response("no session: sign in again", status_code=401))
                if request.method == "POST":  # nothing is done without a session
                    return redirect("/signin")
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query
                                             else "")
                return redirect(f"/signin?next={_quoted(wanted)}")
            fields: dict[str, str] = {}
            if request.method == "POST":
                fields = await form(request)
                if not session.csrf_matches(fields.get("csrf")):
                    return page("refused.html", 403, session=session, message=NO_CSRF)
            try:
                return await handler(self, request, session, fields)
            except Missing as missing:
                return page("refused.html", 404, session=session, message=str(missing))
            except PolicyRefusal as refusal:
                return page("refused.html", 403, session=session, message=str(refusal))
            except UsageError as unusable:
                return page("refused.html", 400, session=session, message=str(unusable))
            except (Refused, FlexorError) as error:
                return page("refused.html", 503, session=session, message=str(error))
        return endpoint

    def sign_out(self, session: Session) -> Response:
        """End the session and its cookie."""
        self.sessions.close(session.session_id)
        return end_session(redirect("/signin"), self.secure)


Handler = Callable[[Console, Request, Session, dict[str, str]], Awaitable[Response]]


async def _no_icon(_request: Request) -> Response:
    return secured(Response(status_code=204))


def _quoted(path: str) -> str:
    return quote(path, safe="/")


def console_routes(server: ApiServer, secure: bool) -> list[BaseRoute]:
    """The console's routes for a team server (`secure`: served over TLS)."""
    return Console(server, secure).routes()
