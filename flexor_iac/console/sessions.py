"""Console sessions: kept in the server's memory only, never written anywhere.

A session is a random 32-byte id (the `flexor_session` cookie) standing for the API key it
was opened with, the key's principal and a CSRF token; it ends after IDLE of disuse, after
LIFETIME in all, at sign-out, or when the server stops. The key's secret never goes back to
the browser.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from flexor_iac.access.policy import Principal

COOKIE = "flexor_session"
IDLE = 8 * 3600.0
LIFETIME = 12 * 3600.0
MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One signed-in browser."""

    session_id: str
    token: str
    principal: Principal
    csrf: str
    started: float
    used: float = field(default=0.0)

    def csrf_matches(self, given: str | None) -> bool:
        """Whether a form's CSRF token is this session's (compared in constant time)."""
        return bool(given) and hmac.compare_digest(self.csrf.encode(), str(given).encode())


class Sessions:
    """The open sessions, by id (thread-safe; expired ones are dropped when met)."""

    def __init__(self) -> None:
        self._open: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, token: str, principal: Principal) -> Session:
        """A new session for a checked key."""
        now = time.monotonic()
        session = Session(secrets.token_urlsafe(32), token, principal,
                          secrets.token_urlsafe(32), now, now)
        with self._lock:
            if len(self._open) >= MAX_SESSIONS:
                self._drop_expired(now)
            self._open[session.session_id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of a cookie, its idle time restarted; None when none."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._open.get(session_id)
            if session is None:
                return None
            if now - session.used > IDLE or now - session.started > LIFETIME:
                del self._open[session_id]
                return None
            session.used = now
            return session

    def close(self, session_id: str | None) -> None:
        """End a session (sign-out, or a key no longer valid)."""
        with self._lock:
            self._open.pop(session_id or "", None)

    def _drop_expired(self, now: float) -> None:
        for key, session in list(self._open.items()):
            if now - session.used > IDLE or now - session.started > LIFETIME:
                del self._open[key]
        while len(self._open) >= MAX_SESSIONS:  # still full: the oldest go
            del self._open[min(self._open, key=lambda k: self._open[k].used)]
