"""Who calls the team server: `Authorization: Bearer <API key>`, checked against the
control plane with the same code as every verb (access/policy.Gate), on a thread of its own
(an Argon2 check is slow). A key's verdict is remembered for a minute, so a busy client does
not pay for the check on every call; a revoked key stops working within that minute."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flexor_iac.access.policy import Gate, Principal
from flexor_iac.controlplane.store import ControlPlane

MEMORY_SECONDS = 60.0
MAX_REMEMBERED = 10_000
NO_KEY = "refused: the team server needs an API key (FLEXOR_API_KEY)"
WRONG_KEY = "refused: the team server does not accept this API key (unknown, expired or revoked)"


def bearer(header: str) -> str:
    """The token of an `Authorization: Bearer …` header ('' when none)."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Callers:
    """Turns a Bearer token into the key's principal (None: no valid key)."""

    def __init__(self, root: Path, where: str) -> None:
        self.root = root
        self.where = where
        self._known: dict[str, tuple[float, Principal | None]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flexor-api-keys")
        self._local = threading.local()

    def _check(self, token: str) -> Principal | None:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = ControlPlane(self.where, create=False)
        return Gate(self.root, store, token).principal()

    async def principal(self, token: str) -> Principal | None:
        """The principal of `token`, remembered for MEMORY_SECONDS."""
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        remembered = self._known.get(digest)
        if remembered and time.monotonic() - remembered[0] < MEMORY_SECONDS:
            return remembered[1]
        found = await asyncio.get_running_loop().run_in_executor(self._pool, self._check, token)
        if len(self._known) > MAX_REMEMBERED:
            self._known.clear()
        self._known[digest] = (time.monotonic(), found)
        return found

    def close(self) -> None:
        """Release the thread and its connection."""
        def close_store() -> None:
            if (store := getattr(self._local, "store", None)) is not None:
                store.close()
        self._pool.submit(close_store).result()
        self._pool.shutdown(wait=True)
