"""A stack's files on a `file://` backend, read without the engine: its checkpoint (for a
digest, pending operations, damage) and what a killed operation leaves beside it (Pulumi
lock files of dead processes, half-written metadata). Other backends have no files here:
`checkpoint` is None for them and the stack layer asks the engine instead.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexor_iac.core.constants import PULUMI_PROJECT, Environment
from flexor_iac.core.errors import PolicyRefusal, StateError
from flexor_iac.core.procfs import alive
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import backend_url
from flexor_iac.project.files import NotRegular, TooLarge, read_regular

Notice = Callable[[str], None]
# A state of 1,000 agents is about 5 MB; far past that is no state Pulumi wrote.
MAX_STATE_BYTES = 512 << 20
MAX_SIDECAR_BYTES = 1 << 20  # a checkpoint's attributes, a lock file: a few hundred bytes


@dataclass(frozen=True)
class StackFiles:
    """Where one environment's stack lives on a local backend."""

    folder: Path  # the backend's `.pulumi` folder
    env: Environment

    @classmethod
    def of(cls, paths: ProjectPaths, env: Environment) -> StackFiles | None:
        """The stack's files, or None when the backend is not a local folder."""
        url = backend_url(paths)
        if not url.startswith("file://"):
            return None
        return cls(Path(url.removeprefix("file://")).expanduser() / ".pulumi", env)

    @property
    def checkpoint(self) -> Path:
        """The stack's current state (`project` layout, else the legacy flat one)."""
        stacks = self.folder / "stacks"
        for folder in (stacks / PULUMI_PROJECT, stacks):
            for suffix in (".json", ".json.gz", ".json.zst"):
                if (found := folder / f"{self.env.value}{suffix}").is_file():
                    return found
        return stacks / PULUMI_PROJECT / f"{self.env.value}.json"

    def _state(self) -> bytes | None:
        """The checkpoint's bytes (None before the first update): a regular file within
        MAX_STATE_BYTES, else one line naming it (a named pipe is not waited on)."""
        found = self.checkpoint
        try:
            return read_regular(found, MAX_STATE_BYTES)
        except FileNotFoundError:
            return None
        except TooLarge:
            reason = f"is larger than {MAX_STATE_BYTES >> 20} MiB"
        except NotRegular as error:
            reason = f"is {error.strerror}"
        except OSError as error:
            reason = f"cannot be read ({error.strerror})"
        raise StateError(f"the Pulumi state of {self.env.value} ({found}) {reason}: restore it "
                         f"from {found.name}.bak beside it or from the backups/ folder of the "
                         "state, then run `flexor deploy --refresh`")

    def digest(self) -> str:
        """A digest of the checkpoint's bytes (`none` before the first update)."""
        state = self._state()
        return "none" if state is None else "sha256:" + hashlib.sha256(state).hexdigest()

    def deployment(self) -> dict[str, Any] | None:
        """The current deployment ({} for a new stack); None when compressed (ask the engine).

        A checkpoint that does not parse is a StateError naming the file and the way out.
        """
        found = self.checkpoint
        if found.suffix != ".json":
            return None
        if (state := self._state()) is None:
            return {}
        try:
            return dict(json.loads(state)["checkpoint"].get("latest") or {})
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise StateError(
                f"the Pulumi state of {self.env.value} is damaged ({found}: {error}); restore "
                f"it from {found.name}.bak beside it or from the backups/ folder of the state, "
                "then run `flexor deploy --refresh`") from None

    def repair_metadata(self, notice: Notice) -> None:
        """Remove metadata a killed write left empty or half-written.

        The backend keeps each file's attributes in a `<file>.attrs` JSON beside it and cannot
        load a checkpoint whose attributes do not parse ("failed to load checkpoint: EOF");
        without the file it uses none, which is what it writes for a checkpoint.
        """
        found = self.checkpoint
        for sidecar in found.parent.glob(f"{self.env.value}.json*.attrs"):
            try:
                json.loads(read_regular(sidecar, MAX_SIDECAR_BYTES))
            except (ValueError, OSError):  # OSError: a pipe or a huge file in its place
                sidecar.unlink(missing_ok=True)
                notice(f"{self.env.value}: removed {sidecar.name}, left damaged by an "
                       "interrupted write")

    def break_dead_locks(self, notice: Notice) -> None:
        """Delete Pulumi's lock files left by processes of this host that are gone.

        A lock of a live process, or of another host, is refused naming its holder.
        """
        here = socket.gethostname()
        locks = self.folder / "locks"
        for lock in locks.glob(f"*/{PULUMI_PROJECT}/{self.env.value}/*.json"):
            try:
                holder = json.loads(read_regular(lock, MAX_SIDECAR_BYTES))
                who = f"{holder['username']}@{holder['hostname']} (pid {holder['pid']}) " \
                      f"since {holder['timestamp']}"
                pid = int(holder["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                holder, who, pid = {}, "an unreadable lock file", 0
            if holder.get("hostname") == here and not alive(pid):
                lock.unlink(missing_ok=True)
                notice(f"{self.env.value}: removed the Pulumi lock of a process that ended "
                       f"without finishing: {who}")
                continue
            raise PolicyRefusal(
                f"{self.env.value} is locked by a Pulumi operation outside flexor: {who} "
                f"({lock}); wait for it, or when it is surely gone run "
                f"`pulumi cancel --stack {self.env.value}`")


def pending_name(operation: dict[str, Any]) -> str:
    """`updating probe-07`: a pending operation in words."""
    urn = str((operation.get("resource") or {}).get("urn", "?"))
    return f"{operation.get('type', '?')} {urn.rsplit('::', 1)[-1]}"
