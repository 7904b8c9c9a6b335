"""The record of what was sent, so that no message goes out twice.

It lives in the same database as the events: a table ``rotation_email_sent`` in the
SQLite file, or in the PostgreSQL database (and schema) of the store. A program in
memory keeps it in memory, as it keeps its events. Each operation opens and closes
its own short connection, so nothing is left open between deliveries.

A message is recorded just after the SMTP server accepted it. A crash in between
can still repeat it once; its Message-ID is then the same, so receivers can drop it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from contextlib import closing
from datetime import datetime
from typing import Any, Protocol

__all__ = ["MemoryLedger", "PostgresLedger", "SQLiteLedger", "SentLedger", "ledger_for"]

TABLE = "rotation_email_sent"


class SentLedger(Protocol):
    """Which Message-IDs were accepted by the SMTP server."""

    def was_sent(self, message_id: str) -> bool:
        """Whether the message was sent before."""

    def record(self, message_id: str, kind: str, sent_at: datetime) -> None:
        """Remember that the message was sent (a repeat is ignored)."""


class MemoryLedger:
    """A ledger for a program kept in memory: it lasts as long as the program."""

    def __init__(self) -> None:
        self._sent: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def was_sent(self, message_id: str) -> bool:
        """Whether the message was sent before."""
        with self._lock:
            return message_id in self._sent

    def record(self, message_id: str, kind: str, sent_at: datetime) -> None:
        """Remember that the message was sent."""
        with self._lock:
            self._sent.setdefault(message_id, (kind, sent_at))


class SQLiteLedger:
    """The ledger as a table of the store's SQLite file."""

    def __init__(self, path: str, *, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        with self._connect() as db:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                " message_id TEXT PRIMARY KEY, kind TEXT NOT NULL, sent_at TEXT NOT NULL)"
            )

    def _connect(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None))

    def was_sent(self, message_id: str) -> bool:
        """Whether the message was sent before."""
        with self._connect() as db:
            row = db.execute(f"SELECT 1 FROM {TABLE} WHERE message_id = ?", (message_id,))
            return row.fetchone() is not None

    def record(self, message_id: str, kind: str, sent_at: datetime) -> None:
        """Remember that the message was sent."""
        with self._connect() as db:
            db.execute(
                f"INSERT OR IGNORE INTO {TABLE} (message_id, kind, sent_at) VALUES (?, ?, ?)",
                (message_id, kind, sent_at.isoformat()),
            )


class PostgresLedger:
    """The ledger as a table of the store's PostgreSQL database (in its schema, if any)."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self._conninfo: dict[str, Any] = {
            "dbname": settings["POSTGRES_DBNAME"],
            "host": settings.get("POSTGRES_HOST", "127.0.0.1"),
            "port": int(settings.get("POSTGRES_PORT", "5432")),
            "user": settings.get("POSTGRES_USER", "postgres"),
            "password": settings.get("POSTGRES_PASSWORD", ""),
            "connect_timeout": int(float(settings.get("POSTGRES_CONNECT_TIMEOUT", "5"))),
        }
        schema = settings.get("POSTGRES_SCHEMA", "").strip()
        self.table = f'"{schema}".{TABLE}' if schema else TABLE
        with self._connect() as db:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                " message_id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                " sent_at TIMESTAMPTZ NOT NULL)"
            )

    def __repr__(self) -> str:
        return f"PostgresLedger({self.table}, host={self._conninfo['host']!r})"

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(autocommit=True, **self._conninfo)

    def was_sent(self, message_id: str) -> bool:
        """Whether the message was sent before."""
        with self._connect() as db:
            found = db.execute(
                f"SELECT 1 FROM {self.table} WHERE message_id = %s",
                (message_id,),
            ).fetchone()
            return found is not None

    def record(self, message_id: str, kind: str, sent_at: datetime) -> None:
        """Remember that the message was sent."""
        with self._connect() as db:
            db.execute(
                f"INSERT INTO {self.table} (message_id, kind, sent_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (message_id) DO NOTHING",
                (message_id, kind, sent_at),
            )


def ledger_for(settings: Mapping[str, str]) -> SentLedger:
    """The ledger that lives beside the store the settings describe."""
    module = settings.get("PERSISTENCE_MODULE", "eventsourcing.popo")
    if module == "eventsourcing.sqlite":
        path = settings.get("SQLITE_DBNAME", "")
        if path and path != ":memory:" and "mode=memory" not in path:
            return SQLiteLedger(path, timeout=float(settings.get("SQLITE_LOCK_TIMEOUT", "10")))
        return MemoryLedger()
    if module == "eventsourcing.postgres":
        return PostgresLedger(settings)
    return MemoryLedger()
