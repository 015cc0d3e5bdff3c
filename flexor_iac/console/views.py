"""The console's pages and buttons (routes in console/app.py). Each reads on the API's
threads with the session's key, checked by the verb's own policy (console/overview.py,
console/details.py); each button runs the CLI's verb (console/actions.py)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from flexor_iac.access.policy import Gate
from flexor_iac.console import actions, details, overview
from flexor_iac.console.sessions import Session
from flexor_iac.console.web import Missing, page, redirect, secured
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import audit_csv, clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import UsageError
from flexor_iac.core.locking import LockState
from flexor_iac.core.moments import parse_moment

if TYPE_CHECKING:
    from flexor_iac.console.app import Console

Fields = dict[str, str]


def environment(value: str) -> Environment:
    """The path's environment, or 404."""
    try:
        return Environment(value)
    except ValueError:
        raise Missing(f"no environment {value!r} (sandbox, staging, production)") from None


def _fragment(request: Request) -> bool:
    return request.query_params.get("fragment") is not None


async def home(console: Console, _request: Request, _session: Session, _f: Fields) -> Response:
    """`/`: the environments."""
    return redirect("/environments")


async def signout(console: Console, _request: Request, session: Session, _f: Fields
                  ) -> Response:
    """End the session."""
    return console.sign_out(session)


async def environments(console: Console, request: Request, session: Session, _f: Fields
                       ) -> Response:
    """Per environment the status lines, servers and heartbeats; the operation locks."""
    def read(store: ControlPlane) -> tuple[list[overview.Overview], list[LockState]]:
        files = console.files(store)
        found = [overview.overview(console.paths, store, files, session.token, env)
                 for env in overview.deployed(store)]
        readable = any(not item.refused for item in found)
        return found, overview.locks(console.paths, console.server.database_url
                                     if store.dialect == "postgresql" else None) \
            if readable else []
    found, locks = await console.read(read)
    name = "_environments.html" if _fragment(request) else "environments.html"
    return page(name, session=session, overviews=found, locks=locks, now=clock.now())


async def agents(console: Console, request: Request, session: Session, _f: Fields
                 ) -> Response:
    """The agents of an environment, filtered by state and searched by name."""
    env = environment(request.path_params["env"])
    state = request.query_params.get("state", "")
    query = request.query_params.get("q", "").strip()

    def read(store: ControlPlane) -> list[overview.AgentRow]:
        Gate(console.paths.root, store, session.token).require("agents list", env)
        return overview.agent_rows(store, env)
    rows = [row for row in await console.read(read)
            if (not state or row.state == state) and query.lower() in row.name.lower()]
    name = "_agents.html" if _fragment(request) else "agents.html"
    return page(name, session=session, env=env.value, rows=rows, state=state, q=query,
                states=overview.STATES, may_run=session.principal.may(f"run:{env.value}"))


async def _agent(console: Console, request: Request, session: Session
                 ) -> tuple[Environment, Any]:
    """The environment and the agent page's data the path names, or Missing."""
    env = environment(request.path_params["env"])
    name = request.path_params["agent"]
    found = await console.read(lambda store: details.agent_page(
        console.paths, store, console.files(store), session.token, env, name))
    if found is None:
        raise Missing(f"no agent {name} is deployed to {env.value}")
    return env, found


async def agent(console: Console, request: Request, session: Session, _f: Fields
                ) -> Response:
    """One agent: its versions, its runs, and the buttons the key may use."""
    env, found = await _agent(console, request, session)
    template = "_runs.html" if _fragment(request) else "agent.html"
    return page(template, session=session, env=env.value, found=found,
                may_run=session.principal.may(f"run:{env.value}"),
                may_deploy=session.principal.may(f"deploy:{env.value}"))


async def run(console: Console, request: Request, session: Session, _f: Fields) -> Response:
    """One run and its log lines."""
    env = environment(request.path_params["env"])
    run_id = request.path_params["run_id"]
    found = await console.read(lambda store: details.run_page(
        console.paths, store, session.token, env, run_id))
    if found is None:
        raise Missing(f"no run {run_id} in {env.value}")
    return page("run.html", session=session, env=env.value, record=found[0], lines=found[1])


async def deployments(console: Console, request: Request, session: Session, _f: Fields
                      ) -> Response:
    """The stack's updates and each agent's versions."""
    env = environment(request.path_params["env"])
    updates, held = await console.read(lambda store: details.deployments(
        console.paths, store, console.files(store), session.token, env))
    return page("deployments.html", session=session, env=env.value, updates=updates,
                held=held, may_deploy=session.principal.may(f"deploy:{env.value}"))


async def confirm_rollback(console: Console, request: Request, session: Session, _f: Fields
                           ) -> Response:
    """The rollback's confirmation."""
    env, found = await _agent(console, request, session)
    return page("rollback.html", session=session, env=env.value, found=found,
                version=request.query_params.get("version", ""))


async def agent_action(console: Console, request: Request, session: Session, fields: Fields
                       ) -> Response:
    """Run now, pause, resume or roll back: the CLI's verb with the session's key."""
    env = environment(request.path_params["env"])
    name, action = request.path_params["agent"], request.path_params["action"]
    if action not in actions.AGENT_ACTIONS:
        raise Missing(f"no action {action!r}")
    argv = actions.agent_argv(action, env.value, name, fields.get("version") or None)
    outcome = await actions.perform(console.server.runner, console.paths,
                                    console.server.database_url, session, argv)
    return page("outcome.html", session=session, outcome=outcome,
                back=f"/environments/{env.value}/agents/{name}")


async def requests(console: Console, request: Request, session: Session, _f: Fields
                   ) -> Response:
    """The deployment requests, with their plans and schedules."""
    def read(store: ControlPlane) -> list[tuple[details.RequestView, tuple[bool, bool]]]:
        views = details.requests(console.paths, store, session.token)
        return [(view, details.decisions(store, console.paths, session.token, view.request))
                for view in views]
    found = await console.read(read)
    return page("requests.html", session=session, found=found, describe=details.describe)


async def request(console: Console, request: Request, session: Session, fields: Fields
                  ) -> Response:
    """One request."""
    request_id = request.path_params["request_id"]

    def read(store: ControlPlane) -> list[tuple[details.RequestView, tuple[bool, bool]]]:
        views = details.requests(console.paths, store, session.token, request_id)
        return [(view, details.decisions(store, console.paths, session.token, view.request))
                for view in views]
    found = await console.read(read)
    if not found:
        raise Missing(f"no request {request_id}")
    return page("requests.html", session=session, found=found, describe=details.describe,
                single=True)


async def request_action(console: Console, request: Request, session: Session,
                         fields: Fields) -> Response:
    """Approve or reject: the CLI's verb with the session's key."""
    request_id, action = request.path_params["request_id"], request.path_params["action"]
    if action not in actions.REQUEST_ACTIONS:
        raise Missing(f"no action {action!r}")
    outcome = await actions.perform(console.server.runner, console.paths,
                                    console.server.database_url, session,
                                    actions.request_argv(action, request_id))
    return page("outcome.html", session=session, outcome=outcome, back="/requests")


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    now = clock.now()
    env = params.get("env") or None
    return {"env": environment(env) if env else None, "agent": params.get("agent") or None,
            "start": parse_moment(params["from"], "from", now) if params.get("from") else None,
            "end": parse_moment(params["to"], "to", now, end_of_day=True)
            if params.get("to") else None}


async def audit(console: Console, request: Request, session: Session, _f: Fields
                ) -> Response:
    """Audit entries filtered by environment, agent and time."""
    params = dict(request.query_params)
    try:
        chosen = _filters(request)
    except UsageError as error:
        return page("audit.html", 400, session=session, entries=[], hidden=[],
                    params=params, error=str(error), query=request.url.query)
    entries, hidden = await console.read(lambda store: details.audit(
        console.paths, store, session.token, **chosen))
    return page("audit.html", session=session, entries=entries, hidden=hidden, params=params,
                error="", query=request.url.query)


async def audit_csv_file(console: Console, request: Request, session: Session, _f: Fields
                         ) -> Response:
    """The same entries as CSV (`flexor audit --format csv`'s columns)."""
    chosen = _filters(request)
    entries, _hidden = await console.read(lambda store: details.audit(
        console.paths, store, session.token, limit=None, **chosen))
    out = io.StringIO()
    audit_csv.write(out, entries)
    return secured(Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": 'attachment; filename="flexor-audit.csv"'}))
