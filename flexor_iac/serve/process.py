"""The `flexor serve` process: the listening socket, uvicorn, signals, and on the embedded
store the rule of one server per environment.

SIGTERM or Ctrl-C stops taking work (the socket closes, no tick or event is taken), gives
running runs the grace period, unregisters the server and exits 0; runs still going then are
cut off by the process ending (in team mode their jobs go to another server after the lease);
a second Ctrl-C ends it at once (exit 130). On the embedded store a flock(2) on
`.flexor/locks/serve-<env>.lock` keeps a second server of the same environment out (the
kernel releases it when its holder dies).
"""

from __future__ import annotations

import asyncio
import fcntl
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import uvicorn
import uvloop
from starlette.routing import BaseRoute

from flexor_iac.api.app import ApiServer, api_application
from flexor_iac.core.errors import FlexorError, PolicyRefusal
from flexor_iac.core.locking import Holder
from flexor_iac.core.workspace import ProjectPaths, private_dir
from flexor_iac.remote.protocol import API_PREFIX
from flexor_iac.serve.connections import guarded
from flexor_iac.serve.http import application
from flexor_iac.serve.service import ServeOptions, Service


def lock_path(paths: ProjectPaths, environment: str) -> Path:
    """The embedded store's one-server lock of an environment."""
    return paths.state_dir / "locks" / f"serve-{environment}.lock"


@contextmanager
def only_server(paths: ProjectPaths, environment: str) -> Iterator[None]:
    """Hold the environment's serve lock, or refuse (exit 3) naming the server holding it."""
    path = lock_path(paths, environment)
    private_dir(path.parent)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = Holder.parse(handle.read())
            who = holder.describe() if holder else "another process"
            raise PolicyRefusal(
                f"a server already serves {environment} from this project: {who}; the embedded "
                "store runs one per environment (team mode runs several)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(Holder.me().dump())
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()


def listen(host: str, port: int) -> socket.socket:
    """The bound listening socket, or one line saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise FlexorError(f"cannot listen on {host}:{port}: {error.strerror or error}") \
            from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn, with signals that end the process cleanly (exit 0), not re-raised."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread hears signals (tests serve from another)
            return
        loop = asyncio.get_running_loop()

        def stop(sig: signal.Signals) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


class Process:
    """uvicorn serving the services of one or more environments (and in team mode the team
    server's API: `api`) on a bound socket, until a signal or `stop()`; with no service, the
    API alone."""

    def __init__(self, services: list[Service], sock: socket.socket,
                 say: Callable[[str], None], api: ApiServer | None = None,
                 tls: tuple[str, str] | None = None,
                 options: ServeOptions | None = None,
                 console: Callable[[ApiServer, bool], list[BaseRoute]] | None = None) -> None:
        self.services = services
        self.api = api
        self.console = console is not None
        self.sock = sock
        self.say = say
        host, port = sock.getsockname()[:2]
        self.address = f"{'https' if tls else 'http'}://{host}:{port}"
        pages = console(api, tls is not None) if api is not None and console else None
        self.app = application(services, api_application(api) if api else None, pages)
        options = services[0].options if services else options or ServeOptions(None)
        self.options = options
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                http=guarded(options.read_timeout,
                                             options.connections_per_client),
                                timeout_graceful_shutdown=round(options.grace),
                                access_log=False, ssl_certfile=tls[0] if tls else None,
                                ssl_keyfile=tls[1] if tls else None)
        self.server = _Server(config)

    def run(self) -> int:
        """Serve until stopped; the number of runs the grace period did not see finish.

        Not `asyncio.run`, which would wait for every worker thread at the end: runs still
        going after the grace period are cut off when the process ends. The loop is uvloop's:
        every request, queue query and run hand-off goes through it (decision 026)."""
        loop = uvloop.new_event_loop()
        try:
            return loop.run_until_complete(self._main())
        finally:
            loop.close()  # shuts the thread pools down without waiting for them

    def stop(self) -> None:
        """Ask the server to stop (from any thread), as SIGTERM does."""
        self.server.should_exit = True

    async def _main(self) -> int:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(
            max_workers=(self.options.workers + 2) * max(len(self.services), 1),
            thread_name_prefix="flexor-run"))
        if not self.services:
            return await self._api_only()
        started: list[Service] = []
        try:
            for service in self.services:
                await service.start(self.address)
                started.append(service)
        except BaseException:
            await asyncio.gather(*(s.stop() for s in started), return_exceptions=True)
            raise
        for service in self.services:
            roster = service.roster
            kinds = [t for t in ("schedule", "webhook", "event") if t in roster.enabled]
            hooks = "" if len(self.services) == 1 else f" (webhooks under /{service.env}/)"
            self.say(f"Serving {service.env} on {self.address}{hooks}: {len(roster.agents)} "
                     f"agent(s) deployed, {len(roster.schedules)} scheduled; fires "
                     f"{', '.join(kinds) or 'no'} triggers (workers: "
                     f"{service.options.workers}).")
        if self.api is not None:
            self.say(f"Serving the team server's API on {self.address}{API_PREFIX}"
                     + (f" and the console on {self.address}/." if self.console else "."))
        self.say("Stop with Ctrl-C or SIGTERM.")
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            self.say(f"Stopping: no new work; running runs have {self.options.grace:g} s")
            for service in self.services:  # every environment stops taking work at once
                service.stopping = True
            stopped = await asyncio.gather(*(s.stop() for s in self.services),
                                           return_exceptions=True)
            unfinished = sum(n for n in stopped if isinstance(n, int))
            for keys in self.app.state.keys:
                keys.close()
            if self.api is not None:
                self.api.close()
        return unfinished

    async def _api_only(self) -> int:
        console = f" and the console on {self.address}/" if self.console else ""
        self.say(f"Serving the team server's API on {self.address}{API_PREFIX}{console} (no "
                 "environment's triggers: `--env E` fires them). Stop with Ctrl-C or SIGTERM.")
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            if self.api is not None:
                self.api.close()
        return 0
