"""PlexiFact: the connector interface and its embedded implementation (a local catalog).

The embedded catalog of `plexifact://<host>/<path>` is the SQLite file
`.flexor/plexifact/<host>/<path>.db` (one per environment: staging and production name
different catalogs). `flexor plexifact load` fills it; the limits of vault.json `data.*`
(connection timeout, rows per query) are enforced on every query.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, model_validator

SCHEME = "plexifact"
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
    parts = urlsplit(uri)
    if parts.scheme != SCHEME or not parts.netloc:
        raise PlexiFactError(f"not a PlexiFact catalog URI: {uri!r} (expected plexifact://…)")
    name = [parts.netloc, *filter(None, parts.path.split("/"))]
    if any(part in (".", "..") for part in name):
        raise PlexiFactError(f"not a PlexiFact catalog URI: {uri!r}")
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


def load(path: Path, data: CatalogData, now: datetime) -> None:
    """Replace the catalog at `path` with `data` (written aside, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".loading")
    staging.unlink(missing_ok=True)
    db = sqlite3.connect(staging)
    try:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO feeds VALUES (?, ?, ?)",
                       [(f.name, f.ingested(now).isoformat(), f.row_count) for f in data.feeds])
        db.executemany("INSERT INTO positions VALUES (?, ?, ?, ?, ?)",
                       [(p.fund_id, p.source, p.instrument, p.quantity, p.as_of)
                        for p in data.positions])
        db.commit()
    finally:
        db.close()
    staging.replace(path)
