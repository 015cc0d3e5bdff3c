"""Who calls the team server: `Authorization: Bearer <API key>`, checked against the
control plane with the same code as every verb (access/policy.Gate), on a thread of its own
(an Argon2 check is slow). A key's verdict is remembered for a minute, so a busy client does
not pay for the check on every call; a revoked key stops working within that minute.

An address whose keys failed MAX_FAILURES checks within a minute is not checked again until
that minute has passed (TooManyFailures, HTTP 429): guessing costs the server no Argon2 time
past that, and a key already checked keeps working."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flexor_iac.access.policy import Gate, Principal
from flexor_iac.controlplane.store import ControlPlane

MEMORY_SECONDS = 60.0
MAX_REMEMBERED = 10_000
MAX_FAILURES = 20  # failed key checks per address within FAILURE_SECONDS
FAILURE_SECONDS = 60.0
NO_KEY = "refused: the team server needs an API key (FLEXOR_API_KEY)"
WRONG_KEY = "refused: the team server does not accept this API key (unknown, expired or revoked)"


def bearer(header: str) -> str:
    """The token of an `Authorization: Bearer …` header ('' when none)."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class TooManyFailures(Exception):
    """This address's keys failed too many checks lately: not checked now."""

    def __init__(self) -> None:
        super().__init__(f"refused: more than {MAX_FAILURES} wrong keys from this address "
                         f"within {FAILURE_SECONDS:g} s; try again in a minute")


class Callers:
    """Turns a Bearer token into the key's principal (None: no valid key)."""

    def __init__(self, root: Path, where: str) -> None:
        self.root = root
        self.where = where
        self._known: dict[str, tuple[float, Principal | None]] = {}
        self._failures: dict[str, deque[float]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flexor-api-keys")
        self._local = threading.local()

    def _check(self, token: str) -> Principal | None:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = ControlPlane(self.where, create=False)
        return Gate(self.root, store, token).principal()

    async def principal(self, token: str, address: str = "") -> Principal | None:
        """The principal of `token`, remembered for MEMORY_SECONDS; TooManyFailures when
        `address` (the client's) has sent too many wrong keys lately."""
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        remembered = self._known.get(digest)
        now = time.monotonic()
        if remembered and now - remembered[0] < MEMORY_SECONDS:
            return remembered[1]
        failures = self._failures.setdefault(address, deque(maxlen=MAX_FAILURES))
        if len(failures) == MAX_FAILURES and now - failures[0] < FAILURE_SECONDS:
            raise TooManyFailures
        found = await asyncio.get_running_loop().run_in_executor(self._pool, self._check, token)
        if len(self._known) > MAX_REMEMBERED:
            self._known.clear()
        if len(self._failures) > MAX_REMEMBERED:
            self._failures.clear()
        self._known[digest] = (time.monotonic(), found)
        if found is None:
            failures.append(time.monotonic())
        return found

    def close(self) -> None:
        """Release the thread and its connection."""
        def close_store() -> None:
            if (store := getattr(self._local, "store", None)) is not None:
                store.close()
        self._pool.submit(close_store).result()
        self._pool.shutdown(wait=True)
