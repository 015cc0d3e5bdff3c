"""PlexiFact: the connector interface and its two local implementations.

The embedded catalog of `plexifact://<host>/<path>` is the SQLite file
`.flexor/plexifact/<host>/<path>.db` (one per environment: staging and production name
different catalogs); in team mode it is kept in the control plane, so every clone and runner
reads what `flexor plexifact load` filled anywhere (`open_catalog` picks). The limits of
vault.json `data.*` (connection timeout, rows per query) are enforced on every query.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, model_validator

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import private_dir
from flexor_iac.project.addresses import catalog_uri_problem

SCHEME = "plexifact"
T = TypeVar("T")
_SCHEMA = """
CREATE TABLE feeds (name TEXT PRIMARY KEY, last_ingested_at TEXT NOT NULL, row_count INTEGER);
CREATE TABLE positions (fund_id TEXT NOT NULL, source TEXT NOT NULL, instrument TEXT NOT NULL,
                        quantity REAL NOT NULL, as_of TEXT);
CREATE INDEX positions_by_fund ON positions (fund_id, source);
"""


class PlexiFactError(Exception):
    """A failed PlexiFact call (unreachable catalog, unknown feed, a limit exceeded)."""


@dataclass(frozen=True)
class Limits:
    """vault.json `data.*` limits."""

    connection_timeout_ms: int = 5000
    max_rows_per_query: int = 10000


class Connector(Protocol):
    """What the runtime needs from PlexiFact."""

    uri: str

    def feed_metadata(self, feed: str) -> dict[str, Any]:
        """`{name, last_ingested_at, row_count}` of one feed."""
        ...

    def positions(self, fund_id: str, source: str, as_of: str | None) -> list[dict[str, Any]]:
        """A fund's positions from one source (`internal` or `custodian`)."""
        ...

    def health(self) -> str:
        """`healthy` or `unreachable (<reason>)`."""
        ...


def catalog_path(state_dir: Path, uri: str) -> Path:
    """Where the embedded catalog of `uri` lives."""
    if problem := catalog_uri_problem(uri):
        raise PlexiFactError(problem)
    parts = urlsplit(uri)
    name = [parts.netloc, *filter(None, parts.path.split("/"))]
    return state_dir.joinpath("plexifact", *name[:-1], f"{name[-1]}.db")


class EmbeddedCatalog:
    """A catalog database in the project's `.flexor/` (read-only for the runtime)."""

    def __init__(self, uri: str, path: Path, limits: Limits) -> None:
        self.uri = uri
        self.path = path
        self.limits = limits

    def _query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.path.is_file():
            raise PlexiFactError(f"{self.uri} has no data; load it with `flexor plexifact load`")
        timeout = self.limits.connection_timeout_ms / 1000
        deadline = time.monotonic() + timeout
        try:
            db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=timeout)
        except sqlite3.Error as error:
            raise PlexiFactError(f"{self.uri}: {error}") from None
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            rows = db.execute(sql, args).fetchmany(self.limits.max_rows_per_query + 1)
        except sqlite3.OperationalError as error:
            if time.monotonic() > deadline:
                raise PlexiFactError(f"{self.uri}: no answer within "
                                     f"{self.limits.connection_timeout_ms} ms") from None
            raise PlexiFactError(f"{self.uri}: {error}") from None
        finally:
            db.close()
        if len(rows) > self.limits.max_rows_per_query:
            raise PlexiFactError(f"the query returned more than "
                                 f"{self.limits.max_rows_per_query} rows (max_rows_per_query)")
        return rows

    def feed_metadata(self, feed: str) -> dict[str, Any]:
        rows = self._query("SELECT name, last_ingested_at, row_count FROM feeds WHERE name=?",
                           feed)
        if not rows:
            raise PlexiFactError(f"no feed named {feed!r} in {self.uri}")
        name, ingested, count = rows[0]
        return {"name": name, "last_ingested_at": ingested, "row_count": count}

    def positions(self, fund_id: str, source: str, as_of: str | None) -> list[dict[str, Any]]:
        sql = ("SELECT instrument, quantity, as_of FROM positions WHERE fund_id=? AND source=?")
        args: list[Any] = [fund_id, source]
        if as_of:
            sql += " AND (as_of IS NULL OR as_of<=?)"
            args.append(as_of)
        return [{"fund_id": fund_id, "instrument": i, "quantity": q, "as_of": a}
                for i, q, a in self._query(sql + " ORDER BY instrument", *args)]

    def health(self) -> str:
        try:
            self._query("SELECT count(*) FROM feeds")
        except PlexiFactError as error:
            return f"unreachable ({error})"
        return "healthy"


class StoredCatalog:
    """A catalog kept in the team control plane (read-only for the runtime)."""

    def __init__(self, uri: str, store: ControlPlane, limits: Limits) -> None:
        self.uri = uri
        self.store = store
        self.limits = limits

    def _timed(self, read: Callable[[], T]) -> T:
        start = time.monotonic()
        try:
            if not self.store.catalog_loaded(self.uri):
                raise PlexiFactError(f"{self.uri} has no data; load it with "
                                     "`flexor plexifact load`")
            found = read()
        except StateError as error:  # the team database was lost mid-run
            raise PlexiFactError(f"{self.uri}: {error}") from None
        if (time.monotonic() - start) * 1000 > self.limits.connection_timeout_ms:
            raise PlexiFactError(f"{self.uri}: no answer within "
                                 f"{self.limits.connection_timeout_ms} ms")
        return found

    def feed_metadata(self, feed: str) -> dict[str, Any]:
        row = self._timed(lambda: self.store.catalog_feed(self.uri, feed))
        if row is None:
            raise PlexiFactError(f"no feed named {feed!r} in {self.uri}")
        return {"name": row[0], "last_ingested_at": row[1], "row_count": row[2]}

    def positions(self, fund_id: str, source: str, as_of: str | None) -> list[dict[str, Any]]:
        allowed = self.limits.max_rows_per_query
        rows = self._timed(lambda: self.store.catalog_positions(
            self.uri, fund_id, source, as_of, allowed + 1))
        if len(rows) > allowed:
            raise PlexiFactError(f"the query returned more than {allowed} rows "
                                 "(max_rows_per_query)")
        return [{"fund_id": fund_id, "instrument": i, "quantity": q, "as_of": a}
                for i, q, a in rows]

    def health(self) -> str:
        try:
            self._timed(lambda: None)
        except PlexiFactError as error:
            return f"unreachable ({error})"
        return "healthy"


def open_catalog(state_dir: Path, uri: str, limits: Limits, store: ControlPlane) -> Connector:
    """The catalog of `uri`: in the team control plane, else the embedded file."""
    if store.dialect == "postgresql":
        return StoredCatalog(uri, store, limits)
    return EmbeddedCatalog(uri, catalog_path(state_dir, uri), limits)


# --- loading data -------------------------------------------------------------------------------

class FeedRow(BaseModel):
    """A feed: when it was last ingested (a time, or minutes ago)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    last_ingested_at: datetime | None = None
    age_minutes: float | None = None
    row_count: int | None = None

    @model_validator(mode="after")
    def _one_time(self) -> FeedRow:
        if (self.last_ingested_at is None) == (self.age_minutes is None):
            raise ValueError("give exactly one of last_ingested_at and age_minutes")
        return self

    def ingested(self, now: datetime) -> datetime:
        """The ingestion time, UTC."""
        if self.last_ingested_at is not None:
            moment = self.last_ingested_at
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return now - timedelta(minutes=self.age_minutes or 0)


class PositionRow(BaseModel):
    """One position of a fund as one source reports it."""

    model_config = ConfigDict(extra="forbid")
    fund_id: str
    source: str
    instrument: str
    quantity: float
    as_of: str | None = None


class CatalogData(BaseModel):
    """A catalog data file (`flexor plexifact load FILE`)."""

    model_config = ConfigDict(extra="forbid")
    feeds: list[FeedRow] = []
    positions: list[PositionRow] = []


def load(state_dir: Path, uri: str, data: CatalogData, now: datetime,
         store: ControlPlane) -> str:
    """Replace the catalog of `uri` with `data`; where it went (a file, or the control plane)."""
    feeds = [(f.name, f.ingested(now).isoformat(), f.row_count) for f in data.feeds]
    positions = [(p.fund_id, p.source, p.instrument, p.quantity, p.as_of)
                 for p in data.positions]
    if store.dialect == "postgresql":
        store.replace_catalog(uri, feeds, positions, now.isoformat())
        return f"the team control plane, {store.where}"
    path = catalog_path(state_dir, uri)
    _write_file(path, feeds, positions)
    return str(path)


@dataclass(frozen=True)
class CatalogRows:
    """An embedded catalog's rows, as `flexor db migrate-from-local` moves them."""

    uri: str
    loaded_at: str
    feeds: list[tuple[Any, ...]]
    positions: list[tuple[Any, ...]]


def embedded_catalogs(state_dir: Path) -> list[CatalogRows]:
    """Every embedded catalog file of a project, read (their URIs from where they lie)."""
    found = []
    root = state_dir / "plexifact"
    for path in sorted(root.rglob("*.db")) if root.is_dir() else ():
        uri = f"{SCHEME}://" + path.relative_to(root).with_suffix("").as_posix()
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            feeds = db.execute("SELECT name, last_ingested_at, row_count FROM feeds").fetchall()
            positions = db.execute("SELECT fund_id, source, instrument, quantity, as_of "
                                   "FROM positions").fetchall()
        finally:
            db.close()
        loaded = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
        found.append(CatalogRows(uri, loaded, feeds, positions))
    return found


def _write_file(path: Path, feeds: list[tuple[Any, ...]],
                positions: list[tuple[Any, ...]]) -> None:
    """Write an embedded catalog aside, then rename it into place."""
    private_dir(path.parent)
    staging = path.with_suffix(".loading")
    staging.unlink(missing_ok=True)
    db = sqlite3.connect(staging)
    try:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO feeds VALUES (?, ?, ?)", feeds)
        db.executemany("INSERT INTO positions VALUES (?, ?, ?, ?, ?)", positions)
        db.commit()
    finally:
        db.close()
    staging.replace(path)
