"""What the error boundary (main.main) says about failures that are not FlexorErrors: a
damaged control plane found mid-command, and the crash log of anything unexpected."""

from __future__ import annotations

import errno
import sys
import tempfile
import time
import traceback
from pathlib import Path

from flexor_iac.controlplane.location import scrub
from flexor_iac.core.constants import STATE_DIR_NAME
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.workspace import find_project, private_dir


def crash_log(error: BaseException, project_dir: Path | None) -> Path:
    """Write the traceback where the operator can find it: .flexor/logs, else the temp dir."""
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    try:
        folder = find_project(project_dir).logs_dir
    except FlexorError:
        folder = Path(tempfile.gettempdir()) / STATE_DIR_NAME
    try:
        private_dir(folder)
    except OSError:
        folder = Path(tempfile.gettempdir())
    target = folder / name
    target.write_text(scrub("".join(traceback.format_exception(error))))
    return target


# A disk that takes no more: the command stops where it was, as a failed one.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def no_room(error: OSError) -> str | None:
    """The one line for a write the disk refused (None: another OS error, unexpected)."""
    if error.errno not in NO_ROOM:
        return None
    where = f" {error.filename}" if error.filename else ""
    return f"cannot write{where} ({error.strerror}): make room, then run the command again"


def damaged_store(error: Exception, project_dir: Path | None) -> str | None:
    """The one line for a control plane found damaged mid-command (None: another error)."""
    if "sqlite3" not in sys.modules:  # nothing opened a database: not worth importing
        return None
    from flexor_iac.controlplane.health import damaged, is_damage
    from flexor_iac.controlplane.store import locate

    if not is_damage(error):
        return None
    try:
        where = locate(find_project(project_dir).root)
    except (FlexorError, FileNotFoundError):
        where = Path("the control-plane database")
    return damaged(where, error)
