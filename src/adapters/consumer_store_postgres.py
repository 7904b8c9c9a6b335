"""The consumer store of a PostgreSQL event store, in the events' database and schema.

The store holds a small pool of its own (psycopg 3, one to four autocommit
connections) and is thread-safe. A write is one explicit transaction that first moves
the consumer's position conditionally (``UPDATE ... WHERE position = expected``, or
``INSERT ... ON CONFLICT DO UPDATE ... WHERE position = 0`` for a first position) and
checks the row count: the row lock it takes makes a second runner with the same
expected position wait, then find the position moved and roll back with
`PositionConflict`, before it has written any row. A page's row changes are then
written by one ``unnest`` upsert and one ``unnest`` delete, whatever their number.

Tables (created if they do not exist, in the schema eventsourcing uses: ``public``
unless ``POSTGRES_SCHEMA`` names another, which must exist)::

    rotation_consumer_positions(consumer TEXT PRIMARY KEY, position BIGINT NOT NULL,
                                view_version INTEGER)
    rotation_view_rows(view TEXT, key TEXT COLLATE "C", doc TEXT NOT NULL,
                       PRIMARY KEY (view, key))
    rotation_deliveries(consumer TEXT, position BIGINT, attempts INTEGER, status TEXT,
                        last_error TEXT, next_attempt_at TEXT,
                        PRIMARY KEY (consumer, position))

Keys are collated ``"C"`` (by code point), so scans order them as the other stores
do, whatever the database's collation. Documents are orjson text, which round-trips
faster than JSONB. Keys cannot hold NUL characters (PostgreSQL text cannot).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Final, LiteralString

from psycopg import Connection, sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from adapters.consumer_stores import (
    CommitsViews,
    Doc,
    decode_doc,
    delivery_from_row,
    delivery_row,
    encode_changes,
    prefix_end,
)
from adapters.postgres_sql import rendered
from rotation_domain.consumers import PositionConflict, ViewCommit

if TYPE_CHECKING:
    from psycopg.rows import TupleRow

    from rotation_domain.consumers import Delivery, RowsReader

__all__ = ["OPEN_TIMEOUT", "PostgresConsumerStore", "postgres_conninfo"]

OPEN_TIMEOUT: Final = 10.0
"""Seconds the store waits for its first connection before giving up."""

_POSITIONS = "rotation_consumer_positions"
_ROWS = "rotation_view_rows"
_DELIVERIES = "rotation_deliveries"
SCHEMA_LOCK = 0x726F745F636F6E73
"""Advisory-lock key that serialises creating the library's tables (processes starting at
once on a new database would otherwise race in the catalog: "tuple concurrently updated")."""

_CREATE: tuple[LiteralString, ...] = (
    "CREATE TABLE IF NOT EXISTS {positions} (consumer TEXT PRIMARY KEY,"
    " position BIGINT NOT NULL, view_version INTEGER)",
    'CREATE TABLE IF NOT EXISTS {rows} (view TEXT NOT NULL, key TEXT COLLATE "C" NOT NULL,'
    " doc TEXT NOT NULL, PRIMARY KEY (view, key))",
    "CREATE TABLE IF NOT EXISTS {deliveries} (consumer TEXT NOT NULL, position BIGINT NOT NULL,"
    " attempts INTEGER NOT NULL, status TEXT NOT NULL, last_error TEXT NOT NULL,"
    " next_attempt_at TEXT, PRIMARY KEY (consumer, position))",
)
# ``%b``: the row arrays go in binary. As text, psycopg escapes every quote of every
# JSON document with a Python regex and the server parses them back: 500 rows took
# about 100 ms that way, 15 ms in binary.
_STATEMENTS: dict[str, LiteralString] = {
    "position": "SELECT position, view_version FROM {positions} WHERE consumer = %s",
    "positions": "SELECT consumer, position FROM {positions}",
    "first_view": "INSERT INTO {positions} AS p (consumer, position, view_version)"
    " VALUES (%s, %s, %s) ON CONFLICT (consumer) DO UPDATE SET position = excluded.position,"
    " view_version = excluded.view_version WHERE p.position = 0",
    "move_view": "UPDATE {positions} SET position = %s, view_version = %s"
    " WHERE consumer = %s AND position = %s",
    "first_advance": "INSERT INTO {positions} AS p (consumer, position) VALUES (%s, %s)"
    " ON CONFLICT (consumer) DO UPDATE SET position = excluded.position WHERE p.position = 0",
    "move_advance": "UPDATE {positions} SET position = %s WHERE consumer = %s AND position = %s",
    "delete_position": "DELETE FROM {positions} WHERE consumer = %s",
    "put_rows": "INSERT INTO {rows} (view, key, doc)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[])"
    " ON CONFLICT (view, key) DO UPDATE SET doc = excluded.doc",
    "delete_rows": "DELETE FROM {rows} AS r USING unnest(%b::text[], %b::text[]) AS d(view, key)"
    " WHERE r.view = d.view AND r.key = d.key",
    "drop_views": "DELETE FROM {rows} WHERE view = ANY(%s::text[])",
    "get_row": "SELECT doc FROM {rows} WHERE view = %s AND key = %s",
    "scan": "SELECT key, doc FROM {rows} WHERE view = %s ORDER BY key",
    "scan_from": "SELECT key, doc FROM {rows} WHERE view = %s AND key >= %s ORDER BY key",
    "scan_range": "SELECT key, doc FROM {rows} WHERE view = %s AND key >= %s AND key < %s"
    " ORDER BY key",
    "put_delivery": "INSERT INTO {deliveries} AS d (consumer, position, attempts, status,"
    " last_error, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (consumer, position) DO UPDATE SET attempts = excluded.attempts,"
    " status = excluded.status, last_error = excluded.last_error,"
    " next_attempt_at = excluded.next_attempt_at",
    "deliveries": "SELECT consumer, position, attempts, status, last_error, next_attempt_at"
    " FROM {deliveries} WHERE consumer = %s ORDER BY position",
    "clear_delivery": "DELETE FROM {deliveries} WHERE consumer = %s AND position = %s",
    "clear_deliveries": "DELETE FROM {deliveries} WHERE consumer = %s",
}


def postgres_conninfo(settings: Mapping[str, str]) -> str:
    """The libpq connection string named by eventsourcing's ``POSTGRES_*`` settings.

    Uses ``POSTGRES_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_DBNAME`` and
    ``_CONNECT_TIMEOUT``; empty or missing ones are left to libpq's defaults.
    """
    names = {
        "host": "POSTGRES_HOST",
        "port": "POSTGRES_PORT",
        "user": "POSTGRES_USER",
        "password": "POSTGRES_PASSWORD",
        "dbname": "POSTGRES_DBNAME",
        "connect_timeout": "POSTGRES_CONNECT_TIMEOUT",
    }
    params = {param: settings[name] for param, name in names.items() if settings.get(name)}
    return make_conninfo(**params)


def _columns(rows: Sequence[tuple[str, ...]]) -> list[list[str]]:
    """Rows as columns: one array parameter per column, for ``unnest``."""
    return [list(column) for column in zip(*rows, strict=True)]


class PostgresConsumerStore(CommitsViews):
    """A `rotation_domain.consumers.ConsumerStore` in a PostgreSQL database.

    Args:
        conninfo: A libpq connection string or URL (see `postgres_conninfo`).
        schema: The events' schema (eventsourcing's ``POSTGRES_SCHEMA``); None or
            empty means ``public``, as for eventsourcing. It must exist.

    Raises:
        psycopg_pool.PoolTimeout: No connection could be made within `OPEN_TIMEOUT`.
        psycopg.Error: The tables could not be created.
    """

    def __init__(self, conninfo: str, schema: str | None = None) -> None:
        schema_name = (schema or "").strip() or "public"
        tables = {
            "positions": sql.Identifier(schema_name, _POSITIONS),
            "rows": sql.Identifier(schema_name, _ROWS),
            "deliveries": sql.Identifier(schema_name, _DELIVERIES),
        }
        self._sql = {
            name: rendered(sql.SQL(text).format(**tables)) for name, text in _STATEMENTS.items()
        }
        self._pool: ConnectionPool[Connection[TupleRow]] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"autocommit": True},
            name="rotation-consumer-store",
        )
        try:
            self._pool.open(wait=True, timeout=OPEN_TIMEOUT)
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for text in _CREATE:
                    conn.execute(sql.SQL(text).format(**tables))
        except BaseException:
            self._pool.close()
            raise

    def position(self, consumer: str) -> int:
        """The position of the last event the consumer finished (0 before any)."""
        row = self._read_one("position", (consumer,))
        return 0 if row is None else int(row[0])

    def view_version(self, consumer: str) -> int | None:
        """The view version the consumer's rows were built with, if any."""
        row = self._read_one("position", (consumer,))
        return None if row is None or row[1] is None else int(row[1])

    def reader(self, view: str) -> RowsReader:
        """Read access to a view's committed rows (it sees later commits too)."""
        return _PostgresRows(self, view)

    def commit_views(self, commits: Sequence[ViewCommit]) -> None:
        """Do several view commits in one transaction: all of them or none.

        Raises:
            PositionConflict: A position is not its commit's ``expected``; nothing is written.
            TypeError: A document is not JSON; nothing is written.
        """
        encoded = [(commit, *encode_changes(commit.changes)) for commit in commits]
        with self._pool.connection() as conn, conn.transaction():
            # Views are derived data replayed from their tracked position: a crash may
            # lose the last commits, never make them inconsistent (see ADR 0004).
            conn.execute("SET LOCAL synchronous_commit TO OFF")
            for commit, _, _ in encoded:
                if commit.expected == 0:
                    moved = conn.execute(
                        self._sql["first_view"], (commit.consumer, commit.position, commit.version)
                    )
                else:
                    moved = conn.execute(
                        self._sql["move_view"],
                        (commit.position, commit.version, commit.consumer, commit.expected),
                    )
                if moved.rowcount != 1:
                    self._conflict(conn, commit.consumer, commit.expected)
            upserts = [row for _, rows, _ in encoded for row in rows]
            deletes = [row for _, _, rows in encoded for row in rows]
            if upserts:
                conn.execute(self._sql["put_rows"], _columns(upserts))
            if deletes:
                conn.execute(self._sql["delete_rows"], _columns(deletes))

    def reset_view(self, consumer: str, views: Sequence[str]) -> None:
        """Drop the views' rows and the consumer's position and failures."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(self._sql["delete_position"], (consumer,))
            conn.execute(self._sql["drop_views"], (list(views),))
            conn.execute(self._sql["clear_deliveries"], (consumer,))

    def reset_views(self, consumers: Sequence[str]) -> None:
        """Reset each consumer and its view of the same name, in one transaction."""
        with self._pool.connection() as conn, conn.transaction():
            for consumer in consumers:
                conn.execute(self._sql["delete_position"], (consumer,))
                conn.execute(self._sql["clear_deliveries"], (consumer,))
            conn.execute(self._sql["drop_views"], (list(consumers),))

    def bulk_writes(self) -> AbstractContextManager[None]:
        """Nothing to tune: PostgreSQL's checkpoints run in the server, not in a commit."""
        return nullcontext()

    def advance(self, consumer: str, *, expected: int, position: int) -> None:
        """Move an integration's position from ``expected`` to ``position``.

        Raises:
            PositionConflict: The position is not ``expected``.
        """
        with self._pool.connection() as conn, conn.transaction():
            if expected == 0:
                moved = conn.execute(self._sql["first_advance"], (consumer, position))
            else:
                moved = conn.execute(self._sql["move_advance"], (position, consumer, expected))
            if moved.rowcount != 1:
                self._conflict(conn, consumer, expected)

    def record_failure(self, delivery: Delivery) -> None:
        """Remember a failing or parked delivery, replacing the event's earlier record."""
        with self._pool.connection() as conn:
            conn.execute(self._sql["put_delivery"], delivery_row(delivery))

    def failures(self, consumer: str) -> list[Delivery]:
        """The consumer's failing and parked events, by position."""
        return [delivery_from_row(row) for row in self._read_all("deliveries", (consumer,))]

    def clear_failure(self, consumer: str, position: int) -> None:
        """Forget the failure record of one event, if any."""
        with self._pool.connection() as conn:
            conn.execute(self._sql["clear_delivery"], (consumer, position))

    def positions(self) -> Mapping[str, int]:
        """Every consumer's position."""
        return {str(consumer): int(pos) for consumer, pos in self._read_all("positions", ())}

    def close(self) -> None:
        """Close the store's pool (again is harmless)."""
        self._pool.close()

    def _read_one(self, statement: str, params: Sequence[Any]) -> TupleRow | None:
        with self._pool.connection() as conn:
            return conn.execute(self._sql[statement], params).fetchone()

    def _read_all(self, statement: str, params: Sequence[Any]) -> list[TupleRow]:
        with self._pool.connection() as conn:
            return conn.execute(self._sql[statement], params).fetchall()

    def _conflict(self, conn: Connection[TupleRow], consumer: str, expected: int) -> None:
        row = conn.execute(self._sql["position"], (consumer,)).fetchone()
        stored = 0 if row is None else int(row[0])
        msg = f"consumer {consumer!r} is at position {stored}, not {expected}"
        raise PositionConflict(msg)


class _PostgresRows:
    """A view's committed rows in a `PostgresConsumerStore`."""

    def __init__(self, store: PostgresConsumerStore, view: str) -> None:
        self._store = store
        self._view = view

    def get(self, key: str) -> Doc | None:
        """The document stored under ``key``, or None."""
        row = self._store._read_one("get_row", (self._view, key))
        return None if row is None else decode_doc(row[0])

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """Every (key, document) whose key starts with ``prefix``, ordered by key.

        The rows are read, in one statement, when ``scan`` is called.
        """
        end = prefix_end(prefix)
        if not prefix:
            rows = self._store._read_all("scan", (self._view,))
        elif end is None:
            rows = self._store._read_all("scan_from", (self._view, prefix))
        else:
            rows = self._store._read_all("scan_range", (self._view, prefix, end))
        return ((str(key), decode_doc(doc)) for key, doc in rows)
