"""Which project files may be read: regular files that stay inside their vault or the project.

A FIFO blocks whoever opens it, a device such as /dev/zero never ends, and a symbolic link can
lead anywhere (/etc/passwd into a snapshot). Every reader of project files asks `examine`
(`identify`) first, which looks with lstat/stat only and never opens what it looks at;
`read_regular` then opens without blocking or following a link and checks the opened file
again: a regular file, and the very file examined (same device and inode), so a link, FIFO or
other file swapped in between is refused too.
A vault's boundary is its folder as named under vaults/: a vault folder that is itself a link
leading elsewhere leaves the project.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FILE = "file"
DIRECTORY = "directory"
NOT_REGULAR = "file-not-regular"
UNREADABLE = "file-unreadable"
_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
Identity = tuple[int, int]  # (st_dev, st_ino): which file a path named when it was examined


@dataclass(frozen=True)
class Refused:
    """Why a path is not read: the message and the rule of its diagnostic."""

    message: str
    rule: str


class NotRegular(OSError):
    """A path that is not (or is no longer) the regular file examined (`strerror` says why,
    `message` in the words of the file-not-regular diagnostic; `filename` is the path)."""

    def __init__(self, why: int | str, filename: str | None = None) -> None:
        reason = why if isinstance(why, str) else f"not a regular file ({kind_of(why)})"
        self.message = f"{reason}; only regular files are read"
        super().__init__(0, reason, filename)


class TooLarge(OSError):
    """A regular file over the size a reader accepts (`size`: its size in bytes)."""

    def __init__(self, size: int, filename: str | None = None) -> None:
        super().__init__(f"the file is {size} bytes")
        self.size = size
        self.filename = filename


@lru_cache(maxsize=1024)
def _real(folder: str) -> str:
    """A folder resolved, once per process (a CLI command is one process; a project has few)."""
    return os.path.realpath(folder)


def vault_boundary(folder: Path | str) -> str:
    """A vault folder as named in its parent (a link there does not move the boundary)."""
    parent, name = os.path.split(os.fspath(folder))
    return os.path.join(_real(parent), name)


def project_boundary(root: Path | str) -> str:
    """The project folder, resolved."""
    return _real(os.fspath(root))


def boundary_of(path: Path, display: str) -> tuple[str, str]:
    """The folder a project file (`display`: its project-relative path) must stay in, and how
    to name it: its vault's for files under vaults/, else the project's."""
    text, parts = str(path), display.split("/")
    root = text[:-len(display)].rstrip(os.sep) if text.endswith(display) else str(path.parent)
    if parts[0] == "vaults" and len(parts) > 2:
        return vault_boundary(os.path.join(root, "vaults", parts[1])), "its vault"
    return project_boundary(root or "."), "the project"


def _inside(path: str, boundary: str) -> bool:
    return path == boundary or path.startswith(boundary.rstrip(os.sep) + os.sep)


def kind_of(mode: int) -> str:
    """What a file mode describes, in words."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def examine(path: Path | str, boundary: str, scope: str = "the project") -> str | Refused:
    """FILE, DIRECTORY, or why `path` may not be read (looks, never opens).

    `boundary` is a resolved folder (vault_boundary, project_boundary) the path must stay in;
    `scope` names it in messages ("its vault", "the project").
    """
    return identify(path, boundary, scope)[0]


def identify(path: Path | str, boundary: str, scope: str = "the project"
             ) -> tuple[str | Refused, Identity | None]:
    """What `examine` says, and the identity of the file it examined (None unless FILE): pass
    it to `read_regular`, which then reads that file or none."""
    text = os.fspath(path)
    try:
        status = os.lstat(text)
        linked = stat.S_ISLNK(status.st_mode)
        if linked:
            real = os.path.realpath(text)
        else:  # a folder on the way may be a link too
            real = os.path.join(_real(os.path.dirname(text)), os.path.basename(text))
        if not _inside(real, boundary):
            return Refused(f"a symbolic link leading outside {scope} (to {real}); only files "
                           "inside it are read", NOT_REGULAR), None
        if linked:
            status = os.stat(text)
    except OSError as error:
        return Refused(f"cannot read file: {error.strerror}", UNREADABLE), None
    if stat.S_ISREG(status.st_mode):
        return FILE, (status.st_dev, status.st_ino)
    if stat.S_ISDIR(status.st_mode):
        return DIRECTORY, None
    return Refused(NotRegular(status.st_mode).message, NOT_REGULAR), None


def read_regular(path: Path | str, limit: int | None = None,
                 identity: Identity | None = None) -> bytes:
    """The bytes of a regular file: NotRegular for anything else (a FIFO is not waited on, a
    link in the last step is not followed: a link `examine` allowed is resolved first) and for
    another file than the one `identify` examined (`identity`); TooLarge when over `limit`
    bytes (checked before reading)."""
    text = os.fspath(path)
    target = os.path.realpath(text) if os.path.islink(text) else text
    try:
        descriptor = os.open(target, _OPEN_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:  # a link swapped in after the look: never followed
            raise NotRegular(stat.S_IFLNK, text) from None
        raise
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegular(status.st_mode, text)
        if identity is not None and (status.st_dev, status.st_ino) != identity:
            raise NotRegular("replaced by another file after it was checked", text)
        if limit is not None and status.st_size > limit:
            raise TooLarge(status.st_size, text)
        chunks, total = [], 0
        while chunk := os.read(descriptor, max(status.st_size + 1 - total, 1 << 16)):
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:  # it grew while it was read
                raise TooLarge(total, text)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


class Unreadable(Exception):
    """A file `read_text` would not read; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_text(path: Path | str, limit: int) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes, or Unreadable: a pipe is not
    waited on, a device not read, and nothing is read past the limit (the rule of project
    files, for every other file flexor reads: plans, catalog data, passphrase and key files)."""
    try:
        return read_regular(path, limit).decode()
    except NotRegular as error:
        raise Unreadable(error.strerror or "not a regular file") from None
    except TooLarge:
        raise Unreadable(f"larger than {_size(limit)}") from None
    except UnicodeDecodeError as error:
        raise Unreadable(f"not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise Unreadable(error.strerror or type(error).__name__) from None


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def describe_size(size: int) -> str:
    """A size in bytes as people read it (MiB, else KiB)."""
    return _size(size)
