"""Shared fixtures: the write and process guards, example-project copies, and the markers that
say what a test starts."""

from __future__ import annotations

import difflib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from flexor_iac.access import keys
from flexor_iac.language import render_pool
from flexor_iac.project.scaffold import PROGRAM_FILE, PROGRAM_TEXT
from tests.helpers.http_servers import serving
from tests.helpers.postgres import Server

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.staging.yaml",
                 "Pulumi.production.yaml", "agents", "vaults")
# What `make demo` adds to the vendor's example (tests/engine/test_demo.py runs it); the
# `project` fixture leaves it out, so its tests see the vendor's example alone.
DEMO_FILES = ("feed-check.yaml", "desk")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class WriteOutsideSandbox(AssertionError):
    """A test opened a file for writing outside its allowed folders."""


class WriteGuard:
    """Fails any in-process open-for-writing outside the allowed roots (an audit hook)."""

    def __init__(self) -> None:
        self.allowed: list[Path] = []
        self.active = False

    def allows(self, path: Path) -> bool:
        return str(path) == os.devnull or "__pycache__" in path.parts or any(
            path == root or root in path.parents for root in self.allowed)

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event != "open" or not isinstance(args[0], str | Path):
            return
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writing:
            target = Path(os.path.abspath(args[0]))
            if not self.allows(target):
                self.active = False  # let pytest itself report
                raise WriteOutsideSandbox(f"test wrote outside its temp dir: {target}")


GUARD = WriteGuard()
sys.addaudithook(GUARD)

# The markers that let a test start a process (pyproject.toml describes them); `make test-fast`
# runs the tests that have neither.
STARTS_PROCESSES = ("engine", "postgres")
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.posix_spawn", "os.fork", "os.forkpty",
                             "os.exec", "os.spawn", "os.system"})


class UnmarkedProcess(AssertionError):
    """A test that is not marked as starting processes started one."""

    def __init__(self, started: list[str]) -> None:
        super().__init__(
            f"this test started a process ({'; '.join(started)}) but is marked neither "
            "`engine` (the Pulumi engine, the flexor CLI or another program) nor `postgres` "
            "(a PostgreSQL server): add the marker that says what it starts — "
            "`make test-fast` runs only the tests that start no process")


class ProcessGuard:
    """Records, and refuses, any process started while it is active (an audit hook)."""

    def __init__(self) -> None:
        self.active = False
        self.started: list[str] = []

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if self.active and event in _PROCESS_EVENTS:
            self.started.append(f"{event} {_program(args)}")
            raise UnmarkedProcess(self.started)

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Processes the suite's own machinery starts (not the test's)."""
        active, self.active = self.active, False
        try:
            yield
        finally:
            self.active = active


def _program(args: tuple[object, ...]) -> str:
    """The program an audited process event names, as far as it says."""
    for arg in args:
        if isinstance(arg, str | bytes | os.PathLike):
            return os.fsdecode(arg)
        if isinstance(arg, list | tuple) and arg and isinstance(arg[0], str | bytes):
            return " ".join(os.fsdecode(a) for a in arg[:3])
    return ""


PROCESSES = ProcessGuard()
sys.addaudithook(PROCESSES)


def _guarded(item: pytest.Item) -> Generator[None, object, object]:
    """Runs a test's phase with the process guard on unless the test may start processes; a
    process it started fails it even if the code under test caught the refusal."""
    PROCESSES.active = not any(item.get_closest_marker(name) for name in STARTS_PROCESSES)
    PROCESSES.started = []
    try:
        result = yield
    finally:
        PROCESSES.active = False
    if PROCESSES.started:
        raise UnmarkedProcess(PROCESSES.started)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _guarded(item))


# What Python and pytest create in a checkout by themselves: bytecode beside the packages the
# suite imports (in process, and in the CLI and engine processes it starts) and pytest's cache.
# Anything else new is a test writing into the checkout, ignored by git or not (.flexor/,
# .pulumi/, scripts/__pycache__/ ...).
_MADE_BY_PYTHON = re.compile(r"!! ((flexor_iac|tests)/(.+/)?__pycache__/|\.pytest_cache/)")


def _repo_snapshot() -> str:
    """Every change in the repository as git sees it, ignored files included (an ignored folder
    as one line), except what Python and pytest make there themselves."""
    listed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all",
                             "--ignored=matching"], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout
    return "".join(line for line in listed.splitlines(keepends=True)
                   if not _MADE_BY_PYTHON.fullmatch(line.rstrip("\n")))


@pytest.fixture(scope="session", autouse=True)
def repo_unchanged() -> Iterator[None]:
    """Subprocesses (the Pulumi engine, the CLI) must not change the repository either."""
    with PROCESSES.suspended():  # this runs inside the first test's set-up
        before = _repo_snapshot()
    yield
    after = _repo_snapshot()
    changes = difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after",
                                   lineterm="")
    assert after == before, "the test session changed the repository:\n" + "\n".join(changes)


@pytest.fixture(autouse=True)
def write_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriteGuard]:
    """Each test may write only under its tmp_path (its HOME and TMPDIR are moved there too)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("FLEXOR_ENV", raising=False)
    monkeypatch.delenv("FLEXOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("FLEXOR_CLOCK", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    GUARD.allowed = [tmp_path.resolve()]
    GUARD.active = True
    yield GUARD
    GUARD.active = False


def add_vault(root: Path, name: str, tier: str, environment: str,
              skills: dict[str, str] | None = None) -> Path:
    """Add a vault (and skill files: name → YAML) to a project; returns its folder."""
    folder = root / "vaults" / name
    (folder / "skills").mkdir(parents=True)
    (folder / "vault.json").write_text(
        f'{{"name": "{name}", "tier": "{tier}", "environment": "{environment}"}}')
    for skill, text in (skills or {}).items():
        (folder / "skills" / f"{skill}.yaml").write_text(text)
    return folder


# What a deploy in the checkout (`make demo`) adds to a stack file: made with that clone's own
# passphrase, useless (and fatal: "incorrect passphrase") to a copy with a new one.
_SECRETS_KEYS = ("encryptionsalt:", "encryptedkey:", "secretsprovider:")


def unsalted(stack_text: str) -> str:
    """A stack file's text without the passphrase salt a local deploy may have written."""
    return "".join(line for line in stack_text.splitlines(keepends=True)
                   if not line.startswith(_SECRETS_KEYS))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=("sqlite", "postgresql"), default="sqlite",
                     help="the control plane of every `project`: the embedded SQLite file, or "
                          "a new database on a PostgreSQL the tests start (team mode)")


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the session's PostgreSQL (with `--store postgresql`, every `project`)
    is marked `postgres`; with `--store postgresql`, the tests of the embedded store's own files
    are left out."""
    team = config.getoption("store") == "postgresql"
    starts_postgres = {"postgres_server", "project"} if team else {"postgres_server"}
    for item in items:
        if starts_postgres & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
    if not team:
        return
    embedded = [item for item in items if item.get_closest_marker("embedded")]
    if embedded:
        config.hook.pytest_deselected(items=embedded)
        items[:] = [item for item in items if not item.get_closest_marker("embedded")]


@pytest.fixture(autouse=True)
def render_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    """Templates render in this process unless the test is marked `engine` (it may start
    processes): the render pool's workers are processes (docs/decisions/017-render-backstop.md)."""
    if request.node.get_closest_marker("engine"):
        yield
        return
    last = render_pool.use(render_pool.InProcess())
    yield
    render_pool.use(last)


@pytest.fixture(autouse=True)
def cheap_key_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """API keys hash with Argon2id's smallest cost in tests that start no process (a hash
    names its own parameters, so keys verify alike); tests marked `engine` keep the product's
    cost, as a server started from them does."""
    if not request.node.get_closest_marker("engine"):
        monkeypatch.setattr(keys, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's example project (the vendor's example: feed-monitor in the
    company vault, without the demo's additions) in a temp dir, with its own .flexor/ — and,
    with `--store postgresql`, in team mode on a new PostgreSQL database."""
    if request.config.getoption("store") == "postgresql":
        monkeypatch.setenv("FLEXOR_DATABASE_URL", request.getfixturevalue("team_database"))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-team-passphrase")
    root = tmp_path / "project"
    write_test_project(root)
    return root


def write_test_project(root: Path) -> None:
    """The vendor's example as tests use it, made at `root`: without the demo's additions, its
    stack files unsalted, and run (as outside this repository) through a root __main__.py."""
    root.mkdir()
    for name in EXAMPLE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns(*DEMO_FILES))
        else:
            (root / name).write_text(unsalted(source.read_text()))
    (root / PROGRAM_FILE).write_text(PROGRAM_TEXT)
    pulumi_yaml = root / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace(
        "main: flexor_iac/program.py", f"main: {PROGRAM_FILE}"))


def copy_example(root: Path) -> None:
    """The repository's example project files, as they are, into `root` (made)."""
    root.mkdir()
    for name in EXAMPLE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records each POST body; answers with the status the server was given."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[http.server.HTTPServer]:
    """A local HTTP server on 127.0.0.1 that records POSTs (`.posts`, `.url`, `.status`)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    server.posts = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    with serving(server):
        yield server


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real PostgreSQL for this test session (and xdist worker), stopped at its end. It may
    be first asked for inside a test (a parametrized store), so its own files are not the
    test's writes."""
    active, GUARD.active = GUARD.active, False
    try:
        server = Server(tmp_path_factory.mktemp("postgres") / "data")
    finally:
        GUARD.active = active
    yield server
    server.stop()


@pytest.fixture
def team_database(postgres_server: Server) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database for one test."""
    with postgres_server.database() as url:
        yield url
