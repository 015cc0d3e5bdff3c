"""The console's HTTP plumbing: templates (Jinja2, autoescaped), security headers, the
session cookie, forms and the sign-in's own CSRF cookie."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from flexor_iac import __version__
from flexor_iac.console.sessions import COOKIE, LIFETIME
from flexor_iac.core.moments import utc

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SIGNIN_COOKIE = "flexor_signin"
MAX_FORM = 16 * 1024
HEADERS = {
    "content-security-policy": ("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'self'; object-src 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class Missing(Exception):
    """What a page names does not exist (404)."""


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["utc"] = utc
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, default=str,
                                                     ensure_ascii=False)
    env.globals["version"] = __version__
    return env


TEMPLATES = _templates()


def secured(response: Response) -> Response:
    """The response with the console's security headers."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def page(name: str, status: int = 200, **context: Any) -> Response:
    """A rendered template."""
    context.setdefault("session", None)
    context.setdefault("csrf", context["session"].csrf if context["session"] else "")
    html = TEMPLATES.get_template(name).render(**context)
    return secured(HTMLResponse(html, status_code=status))


def redirect(location: str) -> Response:
    """303 See Other to a path of the console."""
    return secured(RedirectResponse(location, status_code=303))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    cleaned = target or ""  # browsers drop tabs and line breaks: "/\t/x" would be "//x"
    if cleaned.startswith("/") and cleaned.isprintable() and " " not in cleaned \
            and not cleaned.startswith(("//", "/\\")):
        return cleaned
    return "/environments"


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each), at most MAX_FORM bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return {}
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def set_session(response: Response, session_id: str, secure: bool) -> Response:
    """The session cookie: HttpOnly, SameSite=Strict, Path=/, Secure under TLS, expiring."""
    response.set_cookie(COOKIE, session_id, max_age=int(LIFETIME), path="/", secure=secure,
                        httponly=True, samesite="strict")
    return response


def end_session(response: Response, secure: bool) -> Response:
    """The session cookie, deleted."""
    response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    return response


def signin_form(secure: bool, error: str = "", status: int = 200, target: str = "") -> Response:
    """The sign-in form, with its CSRF token in a cookie of its own (double submit)."""
    token = secrets.token_urlsafe(32)
    response = page("signin.html", status, error=error, signin_token=token, target=target)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=600, path="/console/signin",
                        secure=secure, httponly=True, samesite="strict")
    return response
