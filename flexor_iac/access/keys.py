"""API keys: `flx_<id>_<secret>`, shown once, stored only as an Argon2id hash (argon2-cffi)."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from flexor_iac.core.constants import ENVIRONMENT_NAMES

PREFIX = "flx"
_FORMAT = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")
# OWASP's Argon2id baseline (19 MiB, 2 passes): the secrets are random, so this is ample and
# keeps a verb's key check around a few tens of milliseconds.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
SCOPES: tuple[str, ...] = (
    *(f"deploy:{env}" for env in ENVIRONMENT_NAMES), *(f"run:{env}" for env in ENVIRONMENT_NAMES),
    "read", "admin")


def new_key() -> tuple[str, str]:
    """A fresh key: (its public id, the full secret to show once)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(token: str) -> str | None:
    """The id part of a well-formed key, else None."""
    found = _FORMAT.match(token.strip())
    return found.group(1) if found else None


def hash_key(token: str) -> str:
    """The salted hash that is stored."""
    return _HASHER.hash(token.strip())


def matches(stored_hash: str, token: str) -> bool:
    """Whether `token` is the key `stored_hash` was made from."""
    try:
        return _HASHER.verify(stored_hash, token.strip())
    except (VerificationError, InvalidHashError):
        return False
