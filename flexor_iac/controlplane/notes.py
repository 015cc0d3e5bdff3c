"""Notes the deploy pipeline keeps (deploy/recovery.py, deploy/unchanged.py): a group of
ControlPlane's records (SQL only here).

Notes share the `meta` table with the store's identity, under keys of their own.
"""

from __future__ import annotations

from flexor_iac.controlplane.records import Records

_NOTE_PREFIX = "note:"


class NoteRecords(Records):
    """Methods ControlPlane gains for the deploy pipeline's notes."""

    def note(self, key: str) -> str | None:
        """A note the deploy pipeline keeps (None: none is)."""
        row = self._one("SELECT value FROM meta WHERE key=?", _NOTE_PREFIX + key)
        return str(row[0]) if row else None

    def set_note(self, key: str, value: str | None) -> None:
        """Keep a note (replacing one under the same key); None removes it."""
        with self._write():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key=?", (_NOTE_PREFIX + key,))
            else:
                self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                                 "SET value=excluded.value", (_NOTE_PREFIX + key, value))
