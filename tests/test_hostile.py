"""The hostile corpus (issue 25): every verb, every option, every environment variable flexor
reads and every file kind of a project, given hostile input, in process.

The corpus counted by `test_the_corpus_is_large_enough` is this module's own cases (CASES): it
does not count tests/project/corpus/, whose bad project files tests/project/test_corpus.py checks
diagnostic by diagnostic. The cases are generated from the click commands themselves, so a new
verb or option joins the corpus without an edit here.

Each case runs `flexor` in this process, in a copy of the example project, and asserts:

* the exit code is a documented one other than 4 (0, 1, 2, 3 or 64);
* nothing on stderr says "Traceback" or "internal error";
* a refusal (any non-zero exit) ends with one `error: …` line on stderr (a verb may print its
  diagnostics above it);
* a refusal changed nothing in the project, .flexor/ included (each entry's kind, size,
  mtime and content). The parse cache (.flexor/cache/) is left out: it holds what a file
  parsed to, keyed by its content, whatever the verb then decides;
* it ends within HANG_SECONDS (a FIFO, a closed port, /dev/zero must not block: an alarm fails
  the case) and reads within its limits: the address space is capped for the case, so a read
  of a 2 GiB sparse file or of /dev/zero fails with MemoryError (an internal error) instead of
  succeeding slowly.

No case starts the engine or any other process (the process guard of tests/conftest.py would
fail it): each combination is refused, or done, before a `pulumi` process would start.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import stat
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
from flexor_iac.core.constants import STATE_DIR_NAME, ExitCode
from flexor_iac.core.workspace import ProjectPaths, private_dir
from tests.conftest import GUARD

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
    "newline": "feed\nmonitor",
    "escape": "\x1b[2J\x1b[31mred",
    "dash": "-",
    "traversal": "../../../../etc/passwd",
    "sql": "x'; DROP TABLE runs; --",
    "bidi": "feed\u202emonitor",
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
         "kind": "agent", "source": "{empty-file}", "directory": "{missing}"}


@dataclass(frozen=True)
class Case:
    """One hostile invocation: argv (with {path} placeholders), the environment it changes
    (None: unset), and what it does to the project first (a file kind made hostile)."""

    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...] = ()
    damage: tuple[str, str] | None = None  # (file in the project, hostile content kind)
    project_dir: bool = True  # add --project-dir PROJECT
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(_leaves(cli_main.cli))
GLOBAL = frozenset({"project_dir", "json_mode", "no_color", "verbose"})


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
        return {kind: f"{{{kind}}}" for kind in PATHS}
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


CASES = [
    *[case for path, command in COMMANDS.items() for case in _verb_cases(path, command)],
    *_project_dir_cases(),
]


# --- running a case ------------------------------------------------------------------------

class Hang(BaseException):
    """A case ran longer than HANG_SECONDS (a BaseException: no `except Exception` takes it)."""


def _realise(token: str, scratch: Path) -> str:
    """The hostile path a {token} stands for, made in `scratch`."""
    target = scratch / token
    if token == "missing":
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


def _snapshot(root: Path) -> dict[str, Entry]:
    """Every entry under `root` (not followed through links): kind, size, mtime, content."""
    seen: dict[str, Entry] = {}
    skipped = {str(root / part) for part in UNCHANGED_EXCEPT}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skipped]
        for name in (*dirs, *files):
            where = Path(folder, name)
            info = where.lstat()
            if stat.S_ISDIR(info.st_mode):  # SQLite's -journal/-wal come and go in .flexor/
                seen[str(where.relative_to(root))] = (info.st_mode, 0, 0, "")
                continue
            digest = ""
            if stat.S_ISREG(info.st_mode) and info.st_size <= 1 << 20:
                digest = hashlib.sha256(where.read_bytes()).hexdigest()
            seen[str(where.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns,
                                                  digest)
    return seen


@contextmanager
def _bounded() -> Iterator[None]:
    """The case must end within HANG_SECONDS and within HEADROOM more address space."""
    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"did not finish within {HANG_SECONDS} s")
    mapped = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limits = resource.getrlimit(resource.RLIMIT_AS)
    previous = signal.signal(signal.SIGALRM, alarm)
    resource.setrlimit(resource.RLIMIT_AS, (mapped + HEADROOM, limits[1]))
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, limits)


def _apply_env(case: Case, monkeypatch: pytest.MonkeyPatch, scratch: Path) -> None:
    for name, value in case.env:
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            filled = value
            if value.startswith("{") and value.endswith("}"):
                filled = _realise(value[1:-1], scratch)
            monkeypatch.setenv(name, filled)


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An empty control plane's file, made once: each case's project starts with a copy (as
    after a first `flexor sync`), so a verb that writes finds one and makes none."""
    active, GUARD.active = GUARD.active, False
    try:
        root = tmp_path_factory.mktemp("control-plane")
        (root / "Pulumi.yaml").write_text("name: flexor\n")
        ControlPlane.of(ProjectPaths(root)).close()
        return (root / STATE_DIR_NAME / DB_NAME).read_bytes()
    finally:
        GUARD.active = active


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_hostile(case: Case, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str], control_plane: bytes) -> None:
    scratch = tmp_path / "hostile"
    scratch.mkdir()
    private_dir(project / STATE_DIR_NAME)
    (project / STATE_DIR_NAME / DB_NAME).write_bytes(control_plane)
    monkeypatch.chdir(scratch)  # never the checkout: it holds a Pulumi.yaml of its own
    _apply_env(case, monkeypatch, scratch)
    argv = _argv(case, project, scratch)
    before = _snapshot(project)
    with _bounded():
        code = cli_main.main(argv)
    out, err = capsys.readouterr()
    assert code in DOCUMENTED, f"exit {code}: {err}"
    assert "Traceback" not in err + out and "internal error" not in err, err
    if code != ExitCode.OK:
        lines = err.strip().splitlines()
        assert lines and lines[-1].startswith("error: "), f"exit {code}, stderr: {err!r}"
        assert "\n" not in lines[-1]
        after = _snapshot(project)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"the refused command changed {changed}: {err}"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 400
    assert len({case.name for case in CASES}) == len(CASES), "case names are unique"
