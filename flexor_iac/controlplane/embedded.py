"""The embedded control plane's file: checked before SQLite opens it, made private when new.

A path that holds no control plane is one line naming it and the way out, never an internal
error: a device (`/dev/null`), a folder, a file SQLite cannot open (under /proc), a file that is
not SQLite, or another program's SQLite database. A verb that only reads never makes one (a
mistyped FLEXOR_CONTROL_PLANE would otherwise show an empty environment); a verb that writes
makes it readable by its owner only (0600, in folders of 0700), and says so when the operator
named the path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from flexor_iac.controlplane.location import named_file
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import ProjectPaths, private_dir
from flexor_iac.project.files import kind_of

VARIABLE = "FLEXOR_CONTROL_PLANE"


def named(path: Path) -> str:
    """`path`, with where it came from when the operator named it."""
    return f"{path} ({VARIABLE})" if named_file() else str(path)


def way_out() -> str:
    """What to do about a path that holds no control plane."""
    return f"check {VARIABLE}" if named_file() else \
        "move it aside (a deploy or sync makes a new one)"


def prepare(path: Path, create: bool, say: Callable[[str], None] | None = None) -> None:
    """Refuse a path that is not a control plane's file; make a new, private one if `create`
    (else refuse a missing one too)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        if os.path.islink(path):  # SQLite would make the file the link names, wherever it is
            raise StateError(f"the control plane {named(path)} is a symbolic link to a missing "
                             f"file ({os.readlink(path)}): {way_out()}") from None
        if not create:
            raise StateError(_missing(path)) from None
        _make(path)
        if named_file() and say is not None:
            say(f"made a new control plane at {named(path)}")
        return
    except OSError as error:
        raise StateError(f"cannot open the control plane {named(path)} "
                         f"({error.strerror}): {way_out()}") from None
    if not stat.S_ISREG(status.st_mode):
        raise StateError(f"the control plane {named(path)} is not a database file "
                         f"({kind_of(status.st_mode)}): {way_out()}")


def _missing(path: Path) -> str:
    if named_file():
        return (f"there is no control plane at {named(path)}: check the path; `flexor sync`, "
                "`deploy` or `keys create` make a new one")
    stacks = ProjectPaths(path.parent.parent).backend_dir / ".pulumi" / "stacks"
    if stacks.is_dir() and any(stacks.rglob("*.json")):
        return (f"there is no control plane at {path}, though this clone deployed (its Pulumi "
                "state says so): it was lost; `flexor deploy --refresh --env E` rebuilds what "
                "is deployed in a new one")
    return (f"there is no control plane at {path} yet: nothing was synced or deployed from "
            "this clone (in team mode, set FLEXOR_DATABASE_URL)")


def _make(path: Path) -> None:
    """An empty file SQLite takes for a new database, 0600 (its -wal and -shm files follow)."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError as error:
        raise StateError(f"cannot make the control plane {named(path)} "
                         f"({error.strerror}): {way_out()}") from None


def unopenable(path: Path, error: BaseException) -> StateError:
    """SQLite could not open or use the file."""
    return StateError(f"cannot open the control plane {named(path)} ({error}): {way_out()}")


def not_ours(path: Path, what: str) -> StateError:
    """A file that is not a flexor control plane (`what` it is instead)."""
    return StateError(f"{named(path)} is not a flexor control plane ({what}): {way_out()}")
