"""One operation lock per environment, held from the preview to the end of the apply.

The lock is flock(2) on `.flexor/locks/<env>.lock`: the kernel releases it when its holder
dies, kill -9 included, so a crash never leaves an environment locked. The holder writes who
it is into the file, so a refused operation can name it (user, host, pid, command, age), and
the next holder can tell that an operation ended without finishing. A process that holds the
lock may take it again (the stack layer does, around each engine call). Operations that find
it held wait in line (core.queue), first come first served, for as long as they were told.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from flexor_iac.core import queue
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.procfs import file_id, flock_holders
from flexor_iac.core.workspace import ProjectPaths, private_dir

POLL_SECONDS = 0.2
DEFAULT_WAIT = 30 * 60.0  # deploy and rollback wait in line this long (--lock-timeout)
# Lock files this process holds, with how many times it took each.
_HELD: dict[Path, int] = {}


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) an environment's lock."""

    user: str
    host: str
    pid: int
    command: str
    since: str

    @classmethod
    def me(cls) -> Holder:
        """This process."""
        words = [os.path.basename(sys.argv[0]) or "flexor", *sys.argv[1:]]
        command = " ".join(words).encode("ascii", "replace").decode()
        printable = "".join(c if c.isprintable() else "?" for c in command)
        return cls(local_actor(), socket.gethostname(), os.getpid(), printable,
                   datetime.now(UTC).isoformat(timespec="seconds"))

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """A holder as written by `dump` (None: nothing, or not a holder)."""
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def dump(self) -> str:
        """The holder as one line of JSON."""
        return json.dumps(asdict(self))

    def describe(self) -> str:
        """`ops@ci-7 (pid 4242) running `flexor deploy --env staging` for 2m05s`."""
        try:
            age = datetime.now(UTC) - datetime.fromisoformat(self.since)
        except ValueError:
            age = timedelta(0)
        return f"{self.user}@{self.host} (pid {self.pid}) running `{self.command}` for " \
               f"{_age(age)}, since {self.since}"


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def _read_holder(handle: IO[str]) -> Holder | None:
    handle.seek(0)
    return Holder.parse(handle.read())


@dataclass(frozen=True)
class LockState:
    """An environment's lock as `flexor db status` shows it: its last holder, and whether that
    holder still holds it (False: it ended without finishing; the next operation recovers)."""

    environment: str
    holder: Holder
    held: bool


def local_locks(paths: ProjectPaths) -> list[LockState]:
    """This machine's environment locks that are held, or whose holder ended without finishing
    (read without taking them: an operation starting meanwhile is never refused)."""
    found = []
    for env in Environment:
        try:
            with lock_file(paths, env).open() as handle:
                holder = _read_holder(handle)
                status = os.fstat(handle.fileno())
        except OSError:
            continue
        if holder is not None:
            found.append(LockState(env.value, holder, file_id(status) in flock_holders()))
    return found


def lock_file(paths: ProjectPaths, env: Environment) -> Path:
    """The lock file of one environment."""
    return paths.state_dir / "locks" / f"{env.value}.lock"


def holds_lock(paths: ProjectPaths, env: Environment) -> bool:
    """Whether this process holds the environment's lock."""
    return lock_file(paths, env) in _HELD


def queue_folder(paths: ProjectPaths, env: Environment) -> Path:
    """The folder of the line of operations waiting for one environment's lock."""
    return paths.state_dir / "locks" / f"{env.value}.queue"


@contextmanager
def operation_lock(paths: ProjectPaths, env: Environment, timeout: float = 0.0,
                   say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the environment's lock for the block; refuse (exit 3) naming the holder.

    `timeout` seconds are waited in line (core.queue: first come, first served) for the
    holder and the operations that came first to finish. `say` hears whom it waits behind and
    its place in line, again whenever either changes, and one line when the previous holder
    ended without finishing.
    """
    path = lock_file(paths, env)
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    private_dir(path.parent)
    with path.open("a+") as handle:
        with queue.ticket(queue_folder(paths, env), Holder.me().dump()) as mine:
            wait_in_line(env, timeout, say, lambda: _look(handle, mine))
        previous = _read_holder(handle)
        if previous is not None and say is not None:
            say(unfinished(env, previous))
        handle.seek(0)
        handle.truncate()
        handle.write(Holder.me().dump())
        handle.flush()
        _HELD[path] = 1
        try:
            yield
        finally:
            del _HELD[path]
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Look:
    """One look along the line: the lock was taken, or the waiter's place (1: next) and who
    holds the lock (None: nobody said, for instance while it changes hands)."""

    taken: bool
    place: int = 0
    holder: Holder | None = None


def _look(handle: IO[str], mine: queue.Ticket) -> Look:
    place = queue.place(mine)
    if place == 1:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return Look(True)
        except BlockingIOError:
            pass
    return Look(False, place, _read_holder(handle))


def wait_in_line(env: Environment, timeout: float, say: Callable[[str], None] | None,
                 look: Callable[[], Look]) -> None:
    """Look along the line until the lock is taken, for at most `timeout` seconds (0: one
    look), telling `say` whom this waits behind and its place whenever either changes; a wait
    that runs out is refused naming the holder."""
    deadline = time.monotonic() + timeout
    heard: tuple[Holder | None, int] | None = None
    looks = 0
    while not (seen := look()).taken:
        looks += 1
        if time.monotonic() >= deadline:
            raise refusal(env, seen.holder, timeout, seen.place)
        news = (seen.holder, seen.place)
        # A lock changing hands shows no holder for a moment: said once the new one shows,
        # or on the second look when nobody ever shows.
        if say is not None and news != heard and (seen.holder is not None or
                                                  (heard is None and looks > 1)):
            say(waiting(env, seen.holder, seen.place, timeout))
            heard = news
        time.sleep(POLL_SECONDS)


def refusal(env: Environment, holder: Holder | None, timeout: float,
            place: int = 1) -> PolicyRefusal:
    """The refusal of an operation that found the environment locked (it names the holder,
    and how long it waited in line)."""
    who = holder.describe() if holder else "another process"
    if timeout:
        hint = (f"waited {_age(timedelta(seconds=timeout))} in line (position {place}); try "
                "again later, or give a longer --lock-timeout")
    else:
        hint = ("wait for it to finish (deploy and rollback wait in line for it unless given "
                "--lock-timeout 0)")
    return PolicyRefusal(f"{env.value} is locked by another flexor operation: {who}; {hint}")


def waiting(env: Environment, holder: Holder | None, place: int, timeout: float) -> str:
    """The line said while an operation waits in line for the environment's lock."""
    who = holder.describe() if holder else "another process"
    return (f"waiting behind {who} (up to {_age(timedelta(seconds=timeout))} for the "
            f"{env.value} lock), position {place}")


def unfinished(env: Environment, previous: Holder) -> str:
    """The line said when the previous holder ended without finishing."""
    return (f"the previous operation on {env.value} ended without finishing: "
            f"{previous.describe()}; recovering")
