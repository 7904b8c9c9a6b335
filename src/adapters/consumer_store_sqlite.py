"""The consumer store of a SQLite event store, in the same database file as the events.

The store opens one connection of its own (autocommit, busy timeout 10 s, WAL, as
eventsourcing sets it) and guards it with a lock, so runners on several threads may
share a store; runners in other processes open stores of their own and SQLite
serialises their writes. Every write is one ``BEGIN IMMEDIATE`` transaction, which
takes the database's write lock before it reads the position it checks.

Tables (created if they do not exist)::

    rotation_consumer_positions(consumer TEXT PRIMARY KEY, position INTEGER NOT NULL,
                                view_version INTEGER)
    rotation_view_rows(view TEXT, key TEXT, doc TEXT NOT NULL, PRIMARY KEY(view, key))
    rotation_deliveries(consumer TEXT, position INTEGER, attempts INTEGER, status TEXT,
                        last_error TEXT, next_attempt_at TEXT,
                        PRIMARY KEY(consumer, position))

An in-memory database (``:memory:``, ``mode=memory``) is refused: each connection to
one would see a database of its own, so views need a file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from adapters.consumer_stores import (
    CommitsViews,
    Doc,
    decode_doc,
    delivery_from_row,
    delivery_row,
    encode_changes,
    prefix_end,
)
from rotation_domain.consumers import PositionConflict, ViewCommit

if TYPE_CHECKING:
    from rotation_domain.consumers import Delivery, RowsReader

__all__ = ["DEFAULT_BUSY_TIMEOUT", "SQLiteConsumerStore"]

DEFAULT_BUSY_TIMEOUT: Final = 10.0
"""Seconds a write waits for another connection's write lock."""

_CREATE = (
    "CREATE TABLE IF NOT EXISTS rotation_consumer_positions ("
    " consumer TEXT PRIMARY KEY, position INTEGER NOT NULL, view_version INTEGER)",
    "CREATE TABLE IF NOT EXISTS rotation_view_rows ("
    " view TEXT, key TEXT, doc TEXT NOT NULL, PRIMARY KEY (view, key))",
    "CREATE TABLE IF NOT EXISTS rotation_deliveries ("
    " consumer TEXT, position INTEGER, attempts INTEGER, status TEXT, last_error TEXT,"
    " next_attempt_at TEXT, PRIMARY KEY (consumer, position))",
)
_FIRST_VIEW = "SELECT min(view) FROM rotation_view_rows"
_NEXT_VIEW = "SELECT view FROM rotation_view_rows WHERE view > ? ORDER BY view LIMIT 1"
_SELECT_POSITION = (
    "SELECT position, view_version FROM rotation_consumer_positions WHERE consumer = ?"
)
_PUT_POSITION = (
    "INSERT INTO rotation_consumer_positions (consumer, position, view_version) VALUES (?, ?, ?)"
    " ON CONFLICT (consumer) DO UPDATE SET position = excluded.position,"
    " view_version = excluded.view_version"
)
BULK_CACHE_KIB: Final = 65_536
"""The page cache of the store's connection in `SQLiteConsumerStore.bulk_writes` (KiB)."""

_PUT_ROW = (
    "INSERT INTO rotation_view_rows (view, key, doc) VALUES (?, ?, ?)"
    " ON CONFLICT (view, key) DO UPDATE SET doc = excluded.doc"
)
_DELETE_ROW = "DELETE FROM rotation_view_rows WHERE view = ? AND key = ?"
_GET_ROW = "SELECT doc FROM rotation_view_rows WHERE view = ? AND key = ?"
_SCAN = "SELECT key, doc FROM rotation_view_rows WHERE view = ?"
_PUT_DELIVERY = (
    "INSERT OR REPLACE INTO rotation_deliveries"
    " (consumer, position, attempts, status, last_error, next_attempt_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT_DELIVERIES = (
    "SELECT consumer, position, attempts, status, last_error, next_attempt_at"
    " FROM rotation_deliveries WHERE consumer = ? ORDER BY position"
)


def _is_memory(path: str) -> bool:
    return not path or ":memory:" in path or "mode=memory" in path


class SQLiteConsumerStore(CommitsViews):
    """A `rotation_domain.consumers.ConsumerStore` in a SQLite database file.

    Args:
        path: The events' database (eventsourcing's ``SQLITE_DBNAME``): a file path,
            or a ``file:`` URI.
        busy_timeout: Seconds a write waits for another connection's write lock.

    Raises:
        ValueError: ``path`` names an in-memory database: views need a file.
        sqlite3.Error: The database cannot be opened or its tables created.
    """

    def __init__(self, path: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        if _is_memory(path):
            msg = (
                f"the consumer store needs a SQLite database file, not {path!r}: an"
                " in-memory database is private to each connection, so its views"
                " could not share it with the events (use sqlite:///file.db or memory:)"
            )
            raise ValueError(msg)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            (mode,) = self._conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL")
            # Views and positions are derived from the events and replayed from the
            # tracked position, so this connection's commits need not wait for the disk:
            # in WAL mode NORMAL keeps them atomic and consistent, and a power cut can
            # only lose the last few, which the runners then redo (integrations at least
            # once, with the same idempotency keys). The events keep eventsourcing's setting.
            self._conn.execute("PRAGMA synchronous = NORMAL")
            with self._write() as conn:
                for statement in _CREATE:
                    conn.execute(statement)
        except BaseException:
            self._conn.close()
            raise

    def position(self, consumer: str) -> int:
        """The position of the last event the consumer finished (0 before any)."""
        row = self._read_one(_SELECT_POSITION, (consumer,))
        return 0 if row is None else int(row[0])

    def view_version(self, consumer: str) -> int | None:
        """The view version the consumer's rows were built with, if any."""
        row = self._read_one(_SELECT_POSITION, (consumer,))
        return None if row is None or row[1] is None else int(row[1])

    def reader(self, view: str) -> RowsReader:
        """Read access to a view's committed rows (it sees later commits too)."""
        return _SQLiteRows(self, view)

    def commit_views(self, commits: Sequence[ViewCommit]) -> None:
        """Do several view commits in one transaction: all of them or none.

        Raises:
            PositionConflict: A position is not its commit's ``expected``; nothing is written.
            TypeError: A document is not JSON; nothing is written.
        """
        encoded = [encode_changes(commit.changes) for commit in commits]
        upserts = [row for rows, _ in encoded for row in rows]
        deletes = [row for _, rows in encoded for row in rows]
        with self._write() as conn:
            self._check_all(conn, commits)  # one query for every view's position
            if upserts:
                conn.executemany(_PUT_ROW, upserts)
            if deletes:
                conn.executemany(_DELETE_ROW, deletes)
            conn.executemany(_PUT_POSITION, [(c.consumer, c.position, c.version) for c in commits])

    def reset_view(self, consumer: str, views: Sequence[str]) -> None:
        """Drop the views' rows and the consumer's position and failures."""
        with self._write() as conn:
            self._reset(conn, consumer, views)

    def reset_views(self, consumers: Sequence[str]) -> None:
        """Reset each consumer and its view of the same name, in one transaction.

        When no other view has rows, the table is emptied at once, which SQLite does
        in about half the time of deleting the rows view by view (a rebuild of every
        view of a million events: 0.6 s instead of 1.2 s).
        """
        with self._write() as conn:
            if _views_with_rows(conn) <= set(consumers):
                conn.execute("DELETE FROM rotation_view_rows")  # SQLite's truncate
            for consumer in consumers:
                self._reset(conn, consumer, [consumer])

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Large commits: a larger page cache, and the log checkpointed once at the end.

        In WAL mode SQLite copies the write-ahead log into the database file, and syncs
        it, whenever a commit leaves the log over 1,000 pages; each commit of a rebuild
        (tens of thousands of rows) paid such a checkpoint, copying the index's pages
        again every time. In the block this connection starts none, and the page cache
        holds `BULK_CACHE_KIB`; at its end one checkpoint copies each page once
        (PASSIVE: it never waits for a reader) and the usual settings come back. What
        the block commits is as durable as any commit: a commit in WAL mode is in the
        log, whether or not a checkpoint has copied it yet (ADR 0016).
        """
        with self._lock:
            (cache,) = self._conn.execute("PRAGMA cache_size").fetchone()
            (pages,) = self._conn.execute("PRAGMA wal_autocheckpoint").fetchone()
            self._conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            with self._lock:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self._conn.execute(f"PRAGMA cache_size = {int(cache)}")
                self._conn.execute("PRAGMA shrink_memory")

    @staticmethod
    def _reset(conn: sqlite3.Connection, consumer: str, views: Sequence[str]) -> None:
        conn.execute("DELETE FROM rotation_consumer_positions WHERE consumer = ?", (consumer,))
        conn.executemany("DELETE FROM rotation_view_rows WHERE view = ?", [(v,) for v in views])
        conn.execute("DELETE FROM rotation_deliveries WHERE consumer = ?", (consumer,))

    def advance(self, consumer: str, *, expected: int, position: int) -> None:
        """Move an integration's position from ``expected`` to ``position``.

        Raises:
            PositionConflict: The position is not ``expected``.
        """
        with self._write() as conn:
            self._check(conn, consumer, expected)
            conn.execute(
                "INSERT INTO rotation_consumer_positions (consumer, position) VALUES (?, ?)"
                " ON CONFLICT (consumer) DO UPDATE SET position = excluded.position",
                (consumer, position),
            )

    def record_failure(self, delivery: Delivery) -> None:
        """Remember a failing or parked delivery, replacing the event's earlier record."""
        with self._write() as conn:
            conn.execute(_PUT_DELIVERY, delivery_row(delivery))

    def failures(self, consumer: str) -> list[Delivery]:
        """The consumer's failing and parked events, by position."""
        rows = self._read_all(_SELECT_DELIVERIES, (consumer,))
        return [delivery_from_row(row) for row in rows]

    def clear_failure(self, consumer: str, position: int) -> None:
        """Forget the failure record of one event, if any."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM rotation_deliveries WHERE consumer = ? AND position = ?",
                (consumer, position),
            )

    def positions(self) -> Mapping[str, int]:
        """Every consumer's position."""
        rows = self._read_all("SELECT consumer, position FROM rotation_consumer_positions", ())
        return {str(consumer): int(position) for consumer, position in rows}

    def close(self) -> None:
        """Close the store's connection (again is harmless)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # SQLite ends it itself on some errors
                    self._conn.execute("ROLLBACK")
                raise

    def _read_one(self, sql: str, params: tuple[str, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def _read_all(self, sql: str, params: tuple[str, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            rows: list[tuple[Any, ...]] = self._conn.execute(sql, params).fetchall()
        return rows

    @staticmethod
    def _check_all(conn: sqlite3.Connection, commits: Sequence[ViewCommit]) -> None:
        if not commits:
            return
        marks = ",".join("?" * len(commits))
        stored = dict(
            conn.execute(
                "SELECT consumer, position FROM rotation_consumer_positions"
                f" WHERE consumer IN ({marks})",
                [c.consumer for c in commits],
            ).fetchall()
        )
        for commit in commits:
            found = int(stored.get(commit.consumer, 0))
            if found != commit.expected:
                msg = f"consumer {commit.consumer!r} is at position {found}, not {commit.expected}"
                raise PositionConflict(msg)

    @staticmethod
    def _check(conn: sqlite3.Connection, consumer: str, expected: int) -> None:
        row = conn.execute(_SELECT_POSITION, (consumer,)).fetchone()
        stored = 0 if row is None else int(row[0])
        if stored != expected:
            msg = f"consumer {consumer!r} is at position {stored}, not {expected}"
            raise PositionConflict(msg)


class _SQLiteRows:
    """A view's committed rows in a `SQLiteConsumerStore`."""

    def __init__(self, store: SQLiteConsumerStore, view: str) -> None:
        self._store = store
        self._view = view

    def get(self, key: str) -> Doc | None:
        """The document stored under ``key``, or None."""
        row = self._store._read_one(_GET_ROW, (self._view, key))
        return None if row is None else decode_doc(str(row[0]))

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """Every (key, document) whose key starts with ``prefix``, ordered by key.

        The rows are read, in one statement, when ``scan`` is called.
        """
        sql, params = _SCAN, [self._view]
        if prefix:
            sql, params = f"{sql} AND key >= ?", [*params, prefix]
            end = prefix_end(prefix)
            if end is not None:
                sql, params = f"{sql} AND key < ?", [*params, end]
        rows = self._store._read_all(f"{sql} ORDER BY key", tuple(params))
        return ((str(key), decode_doc(str(doc))) for key, doc in rows)


def _views_with_rows(conn: sqlite3.Connection) -> set[str]:
    """The views that have rows: one index seek per view, not a scan of the rows."""
    found: set[str] = set()
    row = conn.execute(_FIRST_VIEW).fetchone()
    while row is not None and row[0] is not None:
        found.add(str(row[0]))
        row = conn.execute(_NEXT_VIEW, (row[0],)).fetchone()
    return found
