"""PlexiFact catalogs in the control plane (team mode): a group of ControlPlane's records, SQL
only here.

Only fixed, indexed queries: a feed by name, a fund's positions from one source, each read
with at most `limit` rows (the caller asks for one more than it allows, to tell when a query
returned too many).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flexor_iac.controlplane.records import Records

FeedValues = tuple[str, str, int | None]  # name, last_ingested_at (ISO, UTC), row_count
PositionValues = tuple[str, str, str, float, str | None]  # fund, source, instrument, qty, as_of


class CatalogRecords(Records):
    """Methods ControlPlane gains for catalogs kept in the control plane."""

    def replace_catalog(self, uri: str, feeds: Sequence[FeedValues],
                        positions: Sequence[PositionValues], loaded_at: str) -> None:
        """Make `uri` hold exactly these feeds and positions (one transaction)."""
        with self._write():
            for table in ("catalog_feeds", "catalog_positions"):
                self._db.execute(f"DELETE FROM {table} WHERE catalog=?", (uri,))
            self._db.executemany("INSERT INTO catalog_feeds VALUES (?, ?, ?, ?)",
                                 [(uri, *feed) for feed in feeds])
            self._db.executemany("INSERT INTO catalog_positions VALUES (?, ?, ?, ?, ?, ?)",
                                 [(uri, *position) for position in positions])
            self._db.execute("INSERT INTO catalogs VALUES (?, ?) ON CONFLICT (uri) DO UPDATE "
                             "SET loaded_at=excluded.loaded_at", (uri, loaded_at))

    def catalog_loaded(self, uri: str) -> bool:
        """Whether `flexor plexifact load` ever filled `uri`."""
        return self._db.execute("SELECT 1 FROM catalogs WHERE uri=?", (uri,)).fetchone() \
            is not None

    def catalog_feed(self, uri: str, name: str) -> FeedValues | None:
        """One feed of the catalog."""
        row = self._db.execute("SELECT name, last_ingested_at, row_count FROM catalog_feeds "
                               "WHERE catalog=? AND name=?", (uri, name)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def catalog_positions(self, uri: str, fund_id: str, source: str, as_of: str | None,
                          limit: int) -> list[tuple[str, float, str | None]]:
        """A fund's positions from one source (as of a date, if given), by instrument."""
        sql = ("SELECT instrument, quantity, as_of FROM catalog_positions WHERE catalog=? AND "
               "fund_id=? AND source=?")
        args: list[Any] = [uri, fund_id, source]
        if as_of:
            sql += " AND (as_of IS NULL OR as_of<=?)"
            args.append(as_of)
        rows = self._db.execute(f"{sql} ORDER BY instrument LIMIT {int(limit)}", args)
        return [(row[0], float(row[1]), row[2]) for row in rows]
