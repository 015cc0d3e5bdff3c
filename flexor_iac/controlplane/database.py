"""Where the control plane's rows live: the embedded SQLite file or a team's PostgreSQL.

Both speak one small interface (`Database`): `execute`/`executemany` take SQL written once with
`?` placeholders (a `LiteralString`: values travel as arguments, never inside the text), and
`transaction()` is one serialised write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
transaction-scoped advisory lock, so a read-then-write such as publishing a snapshot behaves the
same on both). The store (store.py) and its mixins hold all the SQL; nothing above the control
plane knows which database it talks to.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString, Protocol

from flexor_iac.controlplane import embedded, health
from flexor_iac.controlplane.location import is_url, named_file, redacted, scrub
from flexor_iac.controlplane.placeholders import postgres as _postgres
from flexor_iac.core.errors import StateError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

CONNECT_TIMEOUT = 10  # seconds to reach the team database
# The pool reports its own connection failures as log warnings: ours is one line.
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())
# One advisory-lock key for the control plane's write transactions ("flexorcp" as a number).
WRITE_LOCK_KEY = 0x666C65786F726370


@dataclass(frozen=True)
class Rows:
    """The rows one statement returned (read in full) and how many rows it changed."""

    rows: list[Any]
    rowcount: int
    columns: tuple[str, ...] = ()

    def fetchone(self) -> Any:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


@dataclass(frozen=True)
class Statement:
    """One statement of a batch written at once (`Database.write`); `many`: `args` is a list
    of argument rows, the statement run once per row."""

    sql: LiteralString
    args: Sequence[Any] = ()
    many: bool = False


class Database(Protocol):
    """What the store needs of a database."""

    dialect: str  # "sqlite" or "postgresql"
    where: str  # the file's resolved path, or the URL without its password

    def execute(self, sql: LiteralString, args: Sequence[Any] = ()) -> Rows:
        """Run one statement (inside the current thread's write transaction, if any)."""
        ...

    def executemany(self, sql: LiteralString, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of arguments."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction, serialised with every other writer of the database."""
        ...

    def write(self, statements: Sequence[Statement]) -> None:
        """`statements` in one write transaction, their results not read (PostgreSQL: sent
        together, one round trip)."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...


class SQLiteDatabase:
    """The embedded control plane: one file in WAL mode, one connection shared by threads."""

    dialect = "sqlite"

    def __init__(self, path: Path, create: bool = True,
                 say: Callable[[str], None] | None = None) -> None:
        self.path = path
        embedded.prepare(path, create, say)
        self.where = str(path.resolve())
        # The runtime's parallel steps write (the outbox) from worker threads: one connection,
        # shared, with writes serialised by a lock.
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
        except sqlite3.OperationalError as error:
            raise embedded.unopenable(path, error) from None
        self._lock = threading.RLock()
        try:
            self._db.execute("PRAGMA busy_timeout=30000")
            self._use_wal()
        except sqlite3.DatabaseError as error:
            self._db.close()
            if health.is_damage(error) and named_file():  # not SQLite: another file named
                raise embedded.not_ours(path, "not a SQLite database") from None
            if health.is_damage(error):
                raise StateError(health.damaged(path, error)) from None
            if isinstance(error, sqlite3.OperationalError):  # a /proc file, a read-only mount
                raise embedded.unopenable(path, error) from None
            raise

    def _use_wal(self) -> None:
        """Switch to WAL. SQLite does not wait its busy timeout for this switch: a second
        process opening a new database at the same instant gets "database is locked" at once,
        so wait for it here (the switch is made once per database, by whoever comes first)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def execute(self, sql: LiteralString, args: Sequence[Any] = ()) -> Rows:
        with self._lock, self._writable():
            cursor = self._db.execute(sql, tuple(args))
            return Rows(cursor.fetchall(), cursor.rowcount, _names(cursor.description))

    def executemany(self, sql: LiteralString, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock, self._writable():
            self._db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # SQLite ends one itself on a full disk
                    self._db.execute("ROLLBACK")
                raise
            with self._writable():
                self._db.execute("COMMIT")

    def write(self, statements: Sequence[Statement]) -> None:
        with self.transaction():
            for statement in statements:
                if statement.many:
                    self.executemany(statement.sql, statement.args)
                else:
                    self.execute(statement.sql, statement.args)

    @contextmanager
    def _writable(self) -> Iterator[None]:
        """A full disk (or one failing) is one line: the transaction is rolled back whole."""
        try:
            yield
        except sqlite3.OperationalError as error:
            if not getattr(error, "sqlite_errorname", "").startswith(("SQLITE_FULL",
                                                                       "SQLITE_IOERR")):
                raise  # (IOERR comes in extended forms: SQLITE_IOERR_WRITE, …)
            raise StateError(f"the control plane {self.path} could not be written ({error}): "
                             "free space on its disk and run the command again (the control plane "
                             "kept none of it)") from None

    def close(self) -> None:
        self._db.close()


class PostgresDatabase:
    """Team mode: a PostgreSQL database shared by every clone and CI runner (psycopg 3, with a
    small connection pool; a write transaction keeps its connection for its thread)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.where = redacted(url)
        self._local = threading.local()
        try:  # one connection first, so an unreachable server is said at once, with its reason
            first = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as error:
            raise StateError(unreachable(self.url, error)) from None
        first.close()
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=1, max_size=4, kwargs={"autocommit": True,
                                                 "connect_timeout": CONNECT_TIMEOUT},
            open=True, timeout=30, name="flexor-control-plane")

    def _bound(self) -> psycopg.Connection[Any] | None:
        return getattr(self._local, "connection", None)

    def execute(self, sql: LiteralString, args: Sequence[Any] = ()) -> Rows:
        with self._reachable():
            if (connection := self._bound()) is not None:
                return _fetched(connection.execute(_postgres(sql), tuple(args)))
            with self._pool.connection() as pooled:
                return _fetched(pooled.execute(_postgres(sql), tuple(args)))

    def executemany(self, sql: LiteralString, rows: Iterable[Sequence[Any]]) -> None:
        with self._reachable():
            if (connection := self._bound()) is not None:
                connection.cursor().executemany(_postgres(sql), list(rows))
                return
            with self._pool.connection() as pooled:
                pooled.cursor().executemany(_postgres(sql), list(rows))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._bound() is not None:
            raise RuntimeError("a control-plane write transaction is already open here")
        with self._reachable(), self._pool.connection() as connection, \
                connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None

    def write(self, statements: Sequence[Statement]) -> None:
        if self._bound() is not None:
            raise RuntimeError("a control-plane write transaction is already open here")
        with self._reachable(), self._pool.connection() as connection, connection.pipeline(), \
                connection.transaction():
            cursor = connection.cursor()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            for statement in statements:
                if statement.many:
                    cursor.executemany(_postgres(statement.sql), list(statement.args))
                else:
                    cursor.execute(_postgres(statement.sql), tuple(statement.args))

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A server lost mid-command (restarted, network gone, pool exhausted) is one line."""
        import psycopg

        try:
            yield
        except psycopg.OperationalError as error:  # the pool's timeout is one too
            raise StateError(unreachable(self.url, error)) from None

    def close(self) -> None:
        self._pool.close()


def _fetched(cursor: psycopg.Cursor[Any]) -> Rows:
    return Rows(cursor.fetchall() if cursor.description else [], cursor.rowcount,
                _names(cursor.description))


def _names(description: Any) -> tuple[str, ...]:
    return tuple(column[0] for column in description or ())


def unreachable(url: str, error: BaseException) -> str:
    """The one line for a team database that cannot be reached (its password never shown,
    though the driver's message may quote the whole URL)."""
    text = str(error).strip()
    reason = scrub(text.splitlines()[0], url) if text else type(error).__name__
    return (f"cannot reach the team control plane {redacted(url)} ({reason}): check "
            "FLEXOR_DATABASE_URL and that the server is running")


def connect(where: Path | str, create: bool = True,
            say: Callable[[str], None] | None = None) -> Database:
    """The database at `where`: a PostgreSQL URL, or a SQLite file's path (made, and said to
    be made when the operator named it, if `create`; see embedded.py)."""
    if is_url(where):
        return PostgresDatabase(str(where))
    return SQLiteDatabase(Path(where), create, say)
