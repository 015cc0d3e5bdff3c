"""The Pulumi state's files read without the engine (for the console's pages): Pulumi's "DIY"
layout, in the team database's `pulumi_state` table in team mode (key `<database>/.pulumi/…`,
data `{"data": <base64>}`, as deploy/team_state.py writes it), else in the embedded `file://`
backend's folder. Only reads; a page view never starts `pulumi`."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flexor_iac.controlplane.location import backend_url, pulumi_backend, team_database
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import PULUMI_PROJECT
from flexor_iac.core.workspace import ProjectPaths

TABLE = "pulumi_state"


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

    def read(self, name: str) -> bytes | None:
        """One file's content (gunzipped), or None."""
        if self._team():
            if self._no_table():
                return None
            row = self.store.database.execute(
                f"SELECT data FROM {TABLE} WHERE key=?", (self.prefix + name,)).fetchone()
            value = row[0] if row else None  # jsonb: a dict; text: JSON
            data = value if isinstance(value, dict) or value is None else json.loads(value)
            content = base64.b64decode(data["data"]) if data else None
        else:
            path = self.folder / name
            content = path.read_bytes() if path.is_file() else None
        if content is not None and name.endswith(".gz"):
            content = gzip.decompress(content)
        return content

    def checkpoint(self, stack: str) -> dict[str, Any]:
        """The stack's latest deployment (`checkpoint.latest`), {} when none."""
        for suffix in (".json", ".json.gz"):
            content = self.read(f".pulumi/stacks/{PULUMI_PROJECT}/{stack}{suffix}")
            if content is not None:
                latest: dict[str, Any] = json.loads(content).get("checkpoint", {}).get(
                    "latest") or {}
                return latest
        return {}

    def last_update(self, stack: str) -> dict[str, Any] | None:
        """The stack's newest update that succeeded (None: none did), reading history files
        newest first until one is found."""
        under = f".pulumi/history/{PULUMI_PROJECT}/{stack}/"
        for name in reversed(self.names(under)):
            if name.endswith((".history.json", ".history.json.gz")) and \
                    (content := self.read(name)) is not None:
                entry: dict[str, Any] = json.loads(content)
                if entry.get("kind") == "update" and entry.get("result") == "succeeded":
                    return entry
        return None

    def history(self, stack: str, limit: int = 50) -> list[dict[str, Any]]:
        """The stack's updates, newest first (at most `limit`)."""
        under = f".pulumi/history/{PULUMI_PROJECT}/{stack}/"
        names = [n for n in self.names(under) if n.endswith((".history.json", ".history.json.gz"))]
        found = []
        for name in reversed(names[-limit:]):
            content = self.read(name)
            if content is not None:
                found.append(json.loads(content))
        return found
