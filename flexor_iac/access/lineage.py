"""The process-lineage rule of a PLEXI-managed production: which processes flexor trusts to
change it. Stated once, here; the providers' guard (resources/guard.py) applies it."""

from __future__ import annotations

import os
import socket

from flexor_iac.core.constants import Environment
from flexor_iac.core.locking import Holder, lock_file
from flexor_iac.core.procfs import file_id, flock_holders, lineage
from flexor_iac.core.workspace import ProjectPaths


def trusted_lineage(paths: ProjectPaths, env: Environment) -> bool:
    """Whether this process descends from the flexor operation that holds `env`'s lock.

    A PLEXI-managed production changes only through flexor (`flexor deploy` applying an
    approved request, `flexor rollback`), yet the change itself is made by a dynamic-provider
    process that the Pulumi engine starts. The provider trusts this chain of parents:

        flexor   holds .flexor/locks/<env>.lock (flock) with its pid written in it, and
        │        serves the inline program itself
        pulumi   the engine (flexor's tether, `sh` → `setpriv` → `pulumi`, execs: one pid)
        │
        sh       pulumi-resource-pulumi-python, Pulumi's shim (it does not exec)
        │
        python   `-m pulumi.dynamic`: this provider process

    that is: the process the lock file names, on this host, holds the lock now (/proc/locks
    names the process that took a flock) and is this process or one of its ancestors. An
    ancestor is enough, whatever lies between (the shim and the tether are Pulumi's and
    flexor's to change): only flexor writes its pid into the lock file, while it holds the
    lock, and no process can make itself a descendant of another, so a process below the
    holder was started by the operation holding the lock.

    Not trusted: a direct `pulumi up` (the lock is held by its program, which runs under
    `pulumi-language-python`, beside the provider, not above it — and that program refuses a
    managed production itself: deploy/program.authorize_direct_update), a direct `pulumi
    destroy` (no program, no holder), anything started outside an operation — and a process
    whose ancestor merely has the pid a lock file names: a flexor killed with kill -9 leaves
    its record behind, and the kernel gives its pid out again (hence "holds the lock now").
    """
    try:
        with lock_file(paths, env).open() as handle:
            holder = Holder.parse(handle.read())
            held_by = flock_holders().get(file_id(os.fstat(handle.fileno())), set())
    except OSError:
        return False
    return holder is not None and holder.host == socket.gethostname() \
        and holder.pid in lineage() and holder.pid in held_by
