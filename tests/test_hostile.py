"""The hostile corpus (issue 25): every verb, every option, every environment variable flexor
reads and every file kind of a project, given hostile input, in process.

The corpus counted by `test_the_corpus_is_large_enough` is this module's own cases (CASES,
about 1,900): it does not count tests/project/corpus/, whose bad project files
tests/project/test_corpus.py checks diagnostic by diagnostic. The cases are generated from the
click commands themselves, so a new verb or option joins the corpus without an edit here:

* every verb, every parameter of it, hostile values for its type (text: empty, 200 kB, non-UTF-8,
  NUL, control characters; numbers; durations; choices; paths: /dev/null, /dev/zero, /dev/full,
  a FIFO, a folder, a symlink loop, a dangling link, a 2 GiB sparse file, a name too long, files
  of hostile content), plus unknown flags, extra arguments, a flag given a value, --json;
* the same, briefly, in a fresh clone (no .flexor/ yet);
* --project-dir and every environment variable flexor reads, given hostile values (files, URLs to a
  closed loopback port, garbage), on verbs that read it; the control-plane variables on every
  verb;
* every file kind of a project (Pulumi.yaml, a stack file, agent files, vault.json, skills, a
  vault's rules, the control plane) made hostile, for the verbs that read it without the engine.

Each case runs `flexor` in this process, in the example project (one copy per test process,
restored when a case changes it), and asserts:

* the exit code is a documented one other than 4 (0, 1, 2, 3 or 64);
* nothing on stderr says "Traceback" or "internal error", and no escape sequence reaches it;
* a refusal (any non-zero exit) ends with one `error: …` line on stderr, or (validate, deploy)
  with a diagnostic line `path:line:col: error: … [rule]`;
* a refusal changed nothing in the project, .flexor/ included (each entry's kind, size,
  mtime and content; a folder's mtime is not compared: SQLite's journal comes and goes), and
  made nothing in the folder it was run from. Left out: the parse cache (.flexor/cache/, what
  a file parsed to, keyed by its content, whatever the verb then decides; so .flexor/ itself
  may appear, for it) and the lock files (.flexor/locks/, flock's empty meeting points, made
  on first use and never removed);
* it ends within HANG_SECONDS (a FIFO, a closed port, /dev/zero must not block: an alarm fails
  the case) and reads within its limits: the address space is capped for the case, so a read
  of a 2 GiB sparse file or of /dev/zero fails with MemoryError (an internal error) instead of
  succeeding slowly.

No case starts the engine or any other process (the process guard of tests/conftest.py would
fail it): each combination is refused, or done, before a `pulumi` process would start. Defects
left open are xfail(strict=True) cases (MAKES_IT_FIRST).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import resource
import shutil
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click
import pytest

from flexor_iac import main as cli_main
from flexor_iac.controlplane.location import DB_NAME
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from tests.conftest import GUARD, WriteGuard, write_test_project

HANG_SECONDS = 20
DOCUMENTED = frozenset({ExitCode.OK, 1, 2, 3, ExitCode.USAGE})
SPARSE_SIZE = 2 << 30
# A case's address space beyond what the test process already maps: enough for any verb,
# far less than a 2 GiB file read whole.
HEADROOM = 1 << 30
UNCHANGED_EXCEPT = (Path(".flexor") / "cache", Path(".flexor") / "locks")

# Hostile values. A path value names something `_realise` makes in the case's scratch folder.
STRINGS = {
    "empty": "",
    "huge": "x" * 200_000,
    "undecoded": "feed\udcff",
    "nul": "feed\x00monitor",
    "control": "feed\nmonitor\x1b[2J\x1b[31m\u202e",
    "injection": "../../../etc/passwd'; DROP TABLE runs; --",
}
NUMBERS = {
    "negative": "-1", "zero": "0", "overflow": "99999999999999999999999999",
    "float": "1.5", "word": "ten", "empty": "", "exponent": "1e9", "nul": "1\x00",
}
DURATIONS = {
    "negative": "-5m", "zero": "0s", "overflow": "99999999999999999999h", "unit": "5y",
    "bare": "5", "nan": "nans", "inf": "infm", "empty": "", "float": "1e308s",
    "iso": "P1D", "words": "yesterday", "undecoded": "5\udcffm",
}
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
CONTENT = {
    "empty": b"", "garbage": bytes(range(256)) * 64, "not-utf8": b"name: feed\xff\xfe\n",
    "nul": b"name: feed\x00monitor\n", "bom-tabs": b"\xef\xbb\xbf\tname:\t[\n",
    "deep": b"[" * 100_000, "alias-bomb": ALIAS_BOMB.encode(), "list": b"- 1\n- 2\n",
    "scalar": b"42\n", "long-line": b"description: " + b"x" * (4 << 20) + b"\n",
    "deep-json": b'{"a":' * 100_000, "json-numbers": b'{"version": 1e999999, "n": -0}',
}


PATHS = ("missing", "directory", "dev-null", "dev-zero", "dev-full", "fifo", "loop", "sparse",
         "empty-file", "garbage", "nul", "undecoded", "huge-name", "dangling")
# Options whose value is a moment or a length of time (parsed by flexor, not click).
DURATION_OPTIONS = frozenset({"lock_timeout", "grace", "lease", "since", "expires", "start",
                              "end"})
# Verbs whose valid invocation starts the engine, and the duration values they accept (not
# hostile: `rollback --lock-timeout 0s` rolls back, starting `pulumi`).
STARTS_ENGINE = frozenset({("rollback",), ("status",), ("history",), ("deploy",)})
LEGITIMATE = frozenset({"zero", "bare", "empty"})
# What a required parameter is given when another one is hostile: valid, so that the hostile
# value is the one judged.
VALID = {"env": "staging", "agent": "feed-monitor", "agents": "feed-monitor", "name": "ci",
         "user": "alice@fund.com", "scopes": "deploy:staging", "role": "viewer",
         "request_id": "r-1", "key_id": "k-1", "event": "feed.updated", "shell": "bash",
         "kind": "agent", "source": "{empty-file}", "directory": "{missing}",
         "issuer": "https://token.actions.githubusercontent.com", "audience": "flexor",
         "repository_id": "123456789", "rule_id": "T-1"}


@dataclass(frozen=True)
class Case:
    """One hostile invocation: argv (with {path} placeholders), the environment it changes
    (None: unset), and what it does to the project first (a file kind made hostile)."""

    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...] = ()
    damage: tuple[str, str] | None = None  # (file in the project, hostile content kind)
    project_dir: bool = True  # add --project-dir PROJECT
    fresh: bool = False  # a clone without .flexor/: a refusal must not make a control plane
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(_leaves(cli_main.cli))
GLOBAL = frozenset({"project_dir", "json_mode", "no_color", "verbose", "server"})


def _base(command: click.Command, leave_out: str | None = None) -> list[str]:
    """The command's required parameters with valid values (but `leave_out`)."""
    argv: list[str] = []
    for param in command.params:
        if not param.required or param.name == leave_out or param.name in GLOBAL:
            continue
        value = VALID[param.name or ""]
        argv += [value] if isinstance(param, click.Argument) else [param.opts[0], value]
    return argv


def _hostile_values(param: click.Parameter) -> dict[str, str]:
    if isinstance(param.type, click.Path):
        return {**{kind: f"{{{kind}}}" for kind in PATHS},
                **{f"content-{kind}": f"{{content-{kind}}}" for kind in CONTENT}}
    if isinstance(param.type, click.types.IntParamType):
        return NUMBERS
    if isinstance(param.type, click.Choice):
        return {"unknown": "nowhere", "case": str(param.type.choices[0]).upper(),
                "empty": "", "undecoded": "\udcff", "nul": f"{param.type.choices[0]}\x00"}
    if param.name in DURATION_OPTIONS:
        return DURATIONS
    return STRINGS


def _verb_cases(path: tuple[str, ...], command: click.Command) -> Iterator[Case]:
    verb = "-".join(path)
    yield Case(f"{verb}/unknown-flag", (*path, *_base(command), "--bogus"))
    yield Case(f"{verb}/undecoded-flag", (*path, *_base(command), "--\udcff"))
    yield Case(f"{verb}/extra-argument", (*path, *_base(command), "extra", "more"))
    yield Case(f"{verb}/json-unknown-flag", (*path, *_base(command), "--json", "--bogus"))
    for param in command.params:
        if param.name in GLOBAL or param.name is None:
            continue
        option = isinstance(param, click.Option)
        if getattr(param, "is_flag", False):
            yield Case(f"{verb}/{param.name}=value", (*path, *_base(command),
                                                       f"{param.opts[0]}=yes"))
            continue
        if option:
            yield Case(f"{verb}/{param.name}/no-value",
                       (*path, *_base(command, param.name), param.opts[0]))
        if param.required:
            yield Case(f"{verb}/{param.name}/missing", (*path, *_base(command, param.name)))
        for kind, value in _hostile_values(param).items():
            if path in STARTS_ENGINE and param.name in DURATION_OPTIONS and kind in LEGITIMATE:
                continue
            given = [param.opts[0], value] if option else [value]
            yield Case(f"{verb}/{param.name}/{kind}",
                       (*path, *_base(command, param.name), *given))


def _project_dir_cases() -> Iterator[Case]:
    for path in (("validate",), ("keys", "list"), ("status",)):
        command = COMMANDS[path]
        for kind in PATHS:
            yield Case(f"{'-'.join(path)}/project-dir/{kind}",
                       (*path, *_base(command), "--project-dir", f"{{{kind}}}"),
                       project_dir=False)


# Environment variables flexor reads (grep os.environ in flexor_iac), with the hostile values
# each is given, and the verbs each is tried with: none starts the engine (a deploy is refused
# before it: the example's vault was never synced).
TEXT = {"empty": "", "garbage": "garbage \x1b[31m\u202e", "undecoded": "\udcff",
        "huge": "x" * 100_000}
FILES = {kind: f"{{{kind}}}" for kind in ("dev-null", "dev-zero", "fifo", "directory",
                                           "missing", "loop", "sparse", "garbage")}
# Only loopback addresses; port 1 is closed: a connection must fail at once, not hang.
URLS = {"closed-port": "postgresql://flexor:secret@127.0.0.1:1/flexor",
        "no-database": "postgresql://127.0.0.1:1", "other-scheme": "mysql://127.0.0.1:1/x",
        "http": "http://127.0.0.1:1/", "not-a-url": "not a url at all",
        "file-url": "file:///dev/zero"}
VARIABLES: dict[str, dict[str, str]] = {
    "FLEXOR_CONTROL_PLANE": {**TEXT, **FILES},
    "FLEXOR_DATABASE_URL": {**TEXT, **URLS},
    "FLEXOR_API_KEY": TEXT,
    "FLEXOR_PROJECT_DIR": {**TEXT, **FILES},
    "FLEXOR_ENV": TEXT,
    "FLEXOR_ACTOR": TEXT,
    "PULUMI_CONFIG_PASSPHRASE": TEXT,
    "PULUMI_CONFIG_PASSPHRASE_FILE": {**TEXT, **FILES},
    "PULUMI_BACKEND_URL": {**TEXT, **URLS},
    "FLEXOR_PULUMI_BIN": {**TEXT, **FILES},
    "FLEXOR_TOOLS_CACHE": FILES,
    "XDG_CACHE_HOME": FILES,
    "HOME": FILES,
    "NO_COLOR": TEXT,
    "TERM": TEXT,
    "PGSSLMODE": TEXT,
    # remote mode: a server that is not one, or not reachable, is one line before any file goes
    "FLEXOR_SERVER": {**TEXT, **URLS, "http-elsewhere": "http://192.0.2.1:8470"},
    "FLEXOR_INSECURE_HTTP": TEXT,
    "FLEXOR_CA_BUNDLE": FILES,
    "FLEXOR_REQUIRE_API_KEY": TEXT,
}
ENV_VERBS = (("keys", "list"), ("agents", "list", "--env", "staging"),
             ("sync", "--dry-run", "--all"), ("deploy", "--env", "staging"))


# The verbs that go on to the engine, with the variables that name the control plane: each
# opens it first, so a hostile one is refused before a `pulumi` process starts.
ENGINE_VERBS = (("status", "--env", "staging"), ("history", "--env", "staging"),
                ("rollback", "--env", "staging", "--agent", "feed-monitor"))
STORE_VARIABLES = ("FLEXOR_CONTROL_PLANE", "FLEXOR_DATABASE_URL")


# Every verb (its required parameters valid) with a control plane that is not one.
STORE_KINDS = {"FLEXOR_CONTROL_PLANE": ("missing", "dev-null", "directory", "undecoded"),
               "FLEXOR_DATABASE_URL": ("closed-port", "not-a-url", "other-scheme", "garbage")}


def _store_cases() -> Iterator[Case]:
    for variable, kinds in STORE_KINDS.items():
        for kind in kinds:
            for path, command in COMMANDS.items():
                if path in STARTS_ENGINE or path == ("completion",):
                    continue  # ENGINE_VERBS, above; completion reads no control plane
                yield Case(f"store/{variable}/{kind}/{'-'.join(path)}",
                           (*path, *_base(command)), env=((variable, VARIABLES[variable][kind]),))


def _env_cases() -> Iterator[Case]:
    yield from _store_cases()
    for variable in STORE_VARIABLES:
        for kind, value in VARIABLES[variable].items():
            if kind == "empty":  # unset, in effect: the project's own control plane
                continue
            for verb in ENGINE_VERBS:
                yield Case(f"env/{variable}/{kind}/{verb[0]}", verb, env=((variable, value),))
    for variable, values in VARIABLES.items():
        for kind, value in values.items():
            for verb in ENV_VERBS:
                bare = tuple(a for a in verb if a not in ("--env", "staging"))
                if variable == "FLEXOR_ENV" and bare == verb:
                    continue  # the verb takes no --env
                argv = bare if variable == "FLEXOR_ENV" else verb
                yield Case(f"env/{variable}/{kind}/{'-'.join(bare)}", argv,
                           env=((variable, value),),
                           project_dir=variable != "FLEXOR_PROJECT_DIR")


# Every kind of file a project holds (and the control plane's), made hostile, for the verbs
# that read it without the engine.
DAMAGE = ("empty", "garbage", "not-utf8", "nul", "bom-tabs", "deep", "alias-bomb", "list",
          "scalar", "long-line", "sparse", "fifo", "directory", "loop", "dev-zero", "dangling",
          "missing")
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.staging.yaml", "agents/feed-monitor.yaml",
                 "agents/new.yaml", "vaults/company/vault.json",
                 "vaults/company/skills/data-freshness-check.yaml",
                 "vaults/company/rules/notification-routing.md")
FILE_VERBS = (("validate",), ("deploy", "--env", "staging", "--dry-run"))
STORE_VERBS = (("keys", "list"), ("agents", "list", "--env", "staging"),
               ("deploy", "--env", "staging"))


def _file_cases() -> Iterator[Case]:
    for target, verbs in ([(f, FILE_VERBS) for f in PROJECT_FILES]
                          + [(f".flexor/{DB_NAME}", STORE_VERBS)]):
        for kind in DAMAGE:
            if kind == "missing" and target == "agents/new.yaml":
                continue
            for verb in verbs:
                yield Case(f"file/{target}/{kind}/{'-'.join(verb)}", verb,
                           damage=(target, kind))


# In a fresh clone (no .flexor/ yet), one case per parameter of every verb, with the first
# hostile value of each kind: refused, it must leave no control plane behind.
FRESH_KINDS = frozenset({"unknown-flag", "missing", "empty", "negative", "unknown", "fifo"})
# Defects left open (xfail, strict), by case name: none today (a deploy that made the control
# plane before refusing for an unsynced vault was the last: deployment.refuse_unbound).
MAKES_IT_FIRST: dict[str, str] = {}


def _fresh_cases() -> Iterator[Case]:
    for path, command in COMMANDS.items():
        for case in _verb_cases(path, command):
            if case.name.rsplit("/", 1)[-1] not in FRESH_KINDS:
                continue
            yield Case(f"fresh/{case.name}", case.argv, fresh=True)


def _marked(case: Case) -> Case:
    """The case, expected to fail (strictly) if it shows a defect left open."""
    reason = MAKES_IT_FIRST.get(case.name)
    if reason is None:
        return case
    return dataclasses.replace(case, marks=(
        pytest.mark.xfail(strict=True, reason=f"defect: {reason}"),))


CASES = [_marked(case) for case in (
    *[case for path, command in COMMANDS.items() for case in _verb_cases(path, command)],
    *_fresh_cases(),
    *_project_dir_cases(),
    *_env_cases(),
    *_file_cases(),
)]


# --- running a case ------------------------------------------------------------------------

class Hang(BaseException):
    """A case ran longer than HANG_SECONDS (a BaseException: no `except Exception` takes it)."""


def _realise(token: str, scratch: Path) -> str:
    """The hostile path a {token} stands for, made in `scratch`."""
    target = scratch / token
    if token.startswith("content-"):
        target.write_bytes(CONTENT[token.removeprefix("content-")])
    elif token == "missing":
        return str(target / "nowhere.yaml")
    if token == "directory":
        target.mkdir(exist_ok=True)
    elif token in ("dev-null", "dev-zero", "dev-full"):
        return f"/dev/{token[4:]}"
    elif token == "fifo":
        os.mkfifo(target)
    elif token == "loop":
        os.symlink(target, target)
    elif token == "dangling":
        os.symlink(scratch / "gone", target)
    elif token == "sparse":
        with open(target, "wb") as sparse:
            sparse.truncate(SPARSE_SIZE)
    elif token == "empty-file":
        target.touch()
    elif token == "garbage":
        target.write_bytes(bytes(range(256)) * 64)
    elif token == "nul":
        return f"{target}\x00.yaml"
    elif token == "undecoded":
        return f"{target}\udcff"
    elif token == "huge-name":
        return str(scratch / ("n" * 5000))
    return str(target)


def _argv(case: Case, project: Path, scratch: Path) -> list[str]:
    made: dict[str, str] = {}

    def fill(arg: str) -> str:
        if arg.startswith("{") and arg.endswith("}"):
            token = arg[1:-1]
            if token not in made:
                made[token] = _realise(token, scratch)
            return made[token]
        return arg
    argv = [fill(arg) for arg in case.argv]
    return [*argv, "--project-dir", str(project)] if case.project_dir else argv


Entry = tuple[int, int, int, str]


_DIGESTS: dict[tuple[int, ...], str] = {}
RACY_NS = 200_000_000  # file times tick with the kernel's coarse clock: far from "now" only


def _digest(where: str, info: os.stat_result) -> str:
    """The file's SHA-256, remembered by what git's index keys a file on (device, inode, size,
    modification and change times) once its change time is well in the past: a later write
    changes the change time, which no program can set back."""
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    if (known := _DIGESTS.get(key)) is not None:
        return known
    with open(where, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    if info.st_ctime_ns < time.time_ns() - RACY_NS:
        _DIGESTS[key] = digest
    return digest


def _snapshot(root: Path) -> dict[str, Entry]:
    """Every entry under `root` (not followed through links): kind, size, mtime, content."""
    seen: dict[str, Entry] = {}
    top = str(root)
    skipped = {os.path.join(top, part) for part in UNCHANGED_EXCEPT}
    state = os.path.join(top, ".flexor")
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skipped]
        for name in (*dirs, *files):
            where = os.path.join(folder, name)
            info = os.lstat(where)
            if stat.S_ISDIR(info.st_mode):  # SQLite's -journal/-wal come and go in .flexor/
                if where != state:  # made for what it may hold (the parse cache)
                    seen[where[len(top) + 1:]] = (info.st_mode, 0, 0, "")
                continue
            digest = ""
            if stat.S_ISREG(info.st_mode) and info.st_size <= 1 << 20:
                digest = _digest(where, info)
            seen[where[len(top) + 1:]] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return seen


@contextmanager
def _bounded(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """The case must end within `seconds` and within HEADROOM more address space."""
    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"did not finish within {seconds} s")
    mapped = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limits = resource.getrlimit(resource.RLIMIT_AS)
    previous = signal.signal(signal.SIGALRM, alarm)
    resource.setrlimit(resource.RLIMIT_AS, (mapped + HEADROOM, limits[1]))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, limits)


def _damage(project: Path, target: str, kind: str) -> None:
    """Make the project's `target` file hostile: its content, or what it is."""
    path = project / target
    if kind in CONTENT:
        path.write_bytes(CONTENT[kind])
        return
    if path.exists():
        path.unlink()
    if kind == "sparse":
        with open(path, "wb") as sparse:
            sparse.truncate(SPARSE_SIZE)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "loop":
        os.symlink(path, path)
    elif kind == "dev-zero":
        os.symlink("/dev/zero", path)
    elif kind == "dangling":
        os.symlink(project / "gone", path)


def _apply_env(case: Case, monkeypatch: pytest.MonkeyPatch, scratch: Path) -> None:
    for name, value in case.env:
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            filled = value
            if value.startswith("{") and value.endswith("}"):
                filled = _realise(value[1:-1], scratch)
            monkeypatch.setenv(name, filled)


# validate's refusal is its report: one diagnostic a line (the count goes to stdout).
DIAGNOSTIC = re.compile(r"[^:\s][^:]*:\d+:\d+: (error|warning): .+ \[[a-z0-9-]+\]")


def _refusal(last: str) -> bool:
    """How a refusal ends: one `error: …` line, or (validate, deploy) a diagnostic."""
    return last.startswith("error: ") or DIAGNOSTIC.fullmatch(last) is not None


class Shared:
    """One copy of the example project (with an empty control plane, as after a first
    `flexor sync`) that the cases of a test process share: a case that changes it (a damaged
    file, a verb that succeeded and wrote) gets it copied afresh from the template afterwards.
    Copying a project per case would cost most of the corpus's time."""

    def __init__(self, folder: Path, control_plane: bool = True) -> None:
        self.template = folder / "template"
        self.root = folder / "project"
        write_test_project(self.template)
        if control_plane:
            ControlPlane.of(ProjectPaths(self.template)).close()
        self.restore()

    def restore(self) -> None:
        """The project as the template has it."""
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.copytree(self.template, self.root, symlinks=True)
        self.baseline = _snapshot(self.root)


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Shared]:
    """The projects the cases share (made once per test process): with a control plane
    (False) and a fresh clone (True)."""
    active, GUARD.active = GUARD.active, False
    try:
        return {fresh: Shared(tmp_path_factory.mktemp("hostile-project"), not fresh)
                for fresh in (False, True)}
    finally:
        GUARD.active = active


@pytest.fixture
def hostile_project(request: pytest.FixtureRequest, projects: dict[bool, Shared],
                    write_guard: WriteGuard) -> Iterator[Path]:
    """The case's shared project, writable by it, as its template has it after the case."""
    shared = projects[request.node.callspec.params["case"].fresh]
    write_guard.allowed.append(shared.root)
    yield shared.root
    if _snapshot(shared.root) != shared.baseline:
        active, GUARD.active = GUARD.active, False
        try:
            shared.restore()
        finally:
            GUARD.active = active


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_hostile(case: Case, hostile_project: Path, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = hostile_project
    scratch = tmp_path / "hostile"
    scratch.mkdir()
    monkeypatch.chdir(scratch)  # never the checkout: it holds a Pulumi.yaml of its own
    _apply_env(case, monkeypatch, scratch)
    argv = _argv(case, project, scratch)
    if case.damage is not None:
        _damage(project, *case.damage)
    before, around = _snapshot(project), _snapshot(scratch)
    with _bounded():
        code = cli_main.main(argv)
    out, err = capsys.readouterr()
    assert code in DOCUMENTED, f"exit {code}: {err}"
    assert "Traceback" not in err + out and "internal error" not in err, err
    assert "\x1b" not in err, "a terminal escape sequence reached stderr unescaped"
    if code != ExitCode.OK:
        lines = err.strip().splitlines()
        assert lines and _refusal(lines[-1]), f"exit {code}, stderr: {err!r}"
        after = _snapshot(project)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"the refused command changed {changed}: {err}"
        made = sorted(_snapshot(scratch).keys() - around.keys())
        assert not made, f"the refused command made {made} where it was run: {err}"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 400
    assert len({case.name for case in CASES}) == len(CASES), "case names are unique"


def test_a_case_that_blocks_fails_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(Hang), _bounded(seconds=0.2):
        fifo.read_bytes()  # no writer: blocks until the alarm


def test_a_case_that_reads_without_limit_fails() -> None:
    with pytest.raises(MemoryError), _bounded():
        bytearray(2 * HEADROOM)
