"""The Pulumi state's files read without the engine (for `status`, `history` and the console's
pages: no engine process, nothing decrypted, only the newest files read): Pulumi's "DIY"
layout, in the team database's `pulumi_state` table in team mode (key `<database>/.pulumi/…`,
data `{"data": <base64>}`, as deploy/team_state.py writes it), else in the embedded `file://`
backend's folder. Only reads; it never starts `pulumi`."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flexor_iac.controlplane.location import backend_url, pulumi_backend, team_database
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import PULUMI_PROJECT
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.project.files import read_regular

TABLE = "pulumi_state"
MAX_FILE_BYTES = 512 << 20  # as deploy/stack_files.py: far past any state Pulumi wrote
HISTORY_SUFFIXES = (".history.json", ".history.json.gz", ".history.json.zst")


class Unreadable(StateError):
    """A file Pulumi compressed with zstd, which Python does not read: ask the engine."""


class PulumiFiles:
    """One project's Pulumi state files: `store`'s table in team mode (`url`), else `folder`."""

    def __init__(self, store: ControlPlane, folder: Path, url: str | None) -> None:
        self.store = store
        self.folder = folder
        self.prefix = f"{urlsplit(url).path.strip('/')}/" if url else ""
        self._table: bool | None = None

    @classmethod
    def of(cls, paths: ProjectPaths, store: ControlPlane) -> PulumiFiles | None:
        """The state files of the project's backend, when they can be read without the engine:
        the team database's table (the backend team mode derives), or a `file://` folder with
        the embedded control plane. None for any other backend: ask the engine."""
        url = backend_url(paths)
        team = team_database(paths.root)
        if team is not None and store.dialect == "postgresql" and url == pulumi_backend(team):
            return cls(store, paths.backend_dir, team)
        if team is None and store.dialect == "sqlite" and url.startswith("file://"):
            return cls(store, Path(url.removeprefix("file://")).expanduser(), None)
        return None

    def _team(self) -> bool:
        return self.store.dialect == "postgresql"

    def _no_table(self) -> bool:
        """Whether Pulumi has not made its table yet (nothing was ever deployed)."""
        if self._table is None:
            row = self.store.database.execute(f"SELECT to_regclass('{TABLE}')").fetchone()
            self._table = row is not None and row[0] is not None
        return not self._table

    def names(self, under: str) -> list[str]:
        """The files under `under` (`.pulumi/history/flexor/staging/`), sorted."""
        if self._team():
            if self._no_table():
                return []
            rows = self.store.database.execute(
                f"SELECT key FROM {TABLE} WHERE key LIKE ?", (self.prefix + under + "%",))
            return sorted(row[0][len(self.prefix):] for row in rows)
        base = self.folder / under
        if not base.is_dir():
            return []
        return sorted(f"{under}{path.name}" for path in base.iterdir() if path.is_file())

    def newest(self, under: str, suffixes: tuple[str, ...], limit: int,
               skip: int = 0) -> list[str]:
        """The last `limit` files under `under` ending in one of `suffixes` (after the newest
        `skip`), newest (last in name order, as Pulumi names them) first; only their names are
        fetched, and in team mode the database sorts and cuts them (Pulumi's own order)."""
        if not self._team():
            found = [n for n in reversed(self.names(under)) if n.endswith(suffixes)]
            return found[skip:skip + limit]
        if self._no_table():
            return []
        ends = " OR ".join("key LIKE ?" for _ in suffixes)
        rows = self.store.database.execute(
            f"SELECT key FROM {TABLE} WHERE key LIKE ? AND ({ends}) "
            "ORDER BY key DESC LIMIT ? OFFSET ?",
            (self.prefix + under + "%", *(f"%{s}" for s in suffixes), limit, skip))
        return [row[0][len(self.prefix):] for row in rows]

    def read(self, name: str) -> bytes | None:
        """One file's content (gunzipped), or None; Unreadable when compressed with zstd."""
        if self._team():
            if self._no_table():
                return None
            row = self.store.database.execute(
                f"SELECT data FROM {TABLE} WHERE key=?", (self.prefix + name,)).fetchone()
            value = row[0] if row else None  # jsonb: a dict; text: JSON
            data = value if isinstance(value, dict) or value is None else json.loads(value)
            content = base64.b64decode(data["data"]) if data else None
        else:
            try:
                content = read_regular(self.folder / name, MAX_FILE_BYTES)
            except FileNotFoundError:
                content = None
            except OSError as error:  # a pipe, a folder, a huge file in its place
                raise StateError(f"the Pulumi state file {self.folder / name} cannot be read "
                                 f"({error.strerror or error})") from None
        if content is not None and name.endswith(".zst"):
            raise Unreadable(f"the Pulumi state file {name} is compressed with zstd, which "
                             "flexor reads only through the engine")
        if content is not None and name.endswith(".gz"):
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError, zlib.error) as error:
                raise StateError(f"the Pulumi state file {name} is damaged ({error})") from None
        return content

    def where(self, name: str) -> str:
        """A file's place, as an error names it: its path, or its key in the table."""
        return f"{self.prefix}{name} in {TABLE}" if self._team() else str(self.folder / name)

    def _json(self, name: str, content: bytes) -> dict[str, Any]:
        """A history file's JSON object; one that is none is a StateError naming it."""
        try:
            found = json.loads(content)
        except ValueError as error:
            found = error
        if not isinstance(found, dict):
            raise StateError(f"the Pulumi history file {self.where(name)} is damaged ({found}); "
                             "restore it from a backup of the state, or delete it")
        return found

    def checkpoint(self, stack: str) -> dict[str, Any]:
        """The stack's latest deployment (`checkpoint.latest`), {} when none; a checkpoint that
        does not parse is a StateError naming it and the way out (as deploy/stack_files.py)."""
        for suffix in (".json", ".json.gz", ".json.zst"):
            name = f".pulumi/stacks/{PULUMI_PROJECT}/{stack}{suffix}"
            if (content := self.read(name)) is None:
                continue
            try:
                latest = json.loads(content)["checkpoint"].get("latest") or {}
                if not isinstance(latest, dict):
                    raise TypeError(f"latest is {type(latest).__name__}")
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise StateError(
                    f"the Pulumi state of {stack} is damaged ({self.where(name)}: {error}); "
                    f"restore it from {stack}{suffix}.bak beside it or from the backups/ "
                    "folder of the state, then run `flexor deploy --refresh`") from None
            return latest
        return {}

    def last_update(self, stack: str) -> dict[str, Any] | None:
        """The stack's newest update that succeeded (None: none did), reading history files
        newest first, a page of names at a time, until one is found."""
        under, page, skip = f".pulumi/history/{PULUMI_PROJECT}/{stack}/", 20, 0
        while names := self.newest(under, HISTORY_SUFFIXES[:2], page, skip):
            for name in names:
                if (content := self.read(name)) is not None:
                    entry = self._json(name, content)
                    if entry.get("kind") == "update" and entry.get("result") == "succeeded":
                        return entry
            skip += page
        return None

    def history(self, stack: str, limit: int = 50) -> list[dict[str, Any]]:
        """The stack's newest `limit` operations, newest first, as its history files record
        them: those files only are read, however long the history."""
        found = []
        for name in self.newest(f".pulumi/history/{PULUMI_PROJECT}/{stack}/",
                                HISTORY_SUFFIXES, limit):
            if (content := self.read(name)) is not None:
                found.append(self._json(name, content))
        return found
