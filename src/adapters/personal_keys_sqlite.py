"""Personal data keys in a table of the SQLite database that holds the events.

A table (created when missing):

* ``rotation_personal_keys(subject_id, data_key, created_at, forgotten_at)``: one row
  per person; ``data_key`` is NULL once the person is forgotten (a tombstone).

Destroying a key runs with ``PRAGMA secure_delete`` on, so SQLite overwrites the freed
bytes, then asks for a WAL checkpoint so the old page leaves the write-ahead log
(docs/privacy.md says what else to do about copies of the file).
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from typing import Any

from eventsourcing.sqlite import SQLiteDatastore

from adapters.personal_keys import KEYS_TABLE, PersonalKeys

__all__ = ["SQLitePersonalKeys"]

_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} ("
    "subject_id TEXT PRIMARY KEY, data_key BLOB, created_at TEXT NOT NULL, forgotten_at TEXT)",
)


_BATCH = 500


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SQLitePersonalKeys(PersonalKeys):
    """Keys in the events' SQLite database, through the recorder's datastore.

    Args:
        datastore: The application recorder's datastore (its connection pool and
            writer lock are shared).
        kek: The key-encryption key (base64 of 32 bytes), if any.
    """

    def __init__(self, datastore: SQLiteDatastore, kek: str | None = None) -> None:
        super().__init__(kek)
        self.datastore = datastore
        with datastore.transaction(commit=True) as cursor:
            for statement in _CREATE:
                cursor.execute(statement)

    def _select_key(self, subject: Any) -> tuple[bool, bytes | None]:
        # One statement on the autocommit connection: no BEGIN and ROLLBACK around it.
        with (
            self.datastore.get_connection(commit=False) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"SELECT data_key FROM {KEYS_TABLE} WHERE subject_id = ?",
                (str(subject),),
            )
            row = cursor.fetchone()
        return (False, None) if row is None else (True, row[0])

    def _select_keys(self, subjects: list[Any]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        texts = [str(subject) for subject in subjects]
        with self.datastore.transaction(commit=False) as cursor:
            for start in range(0, len(texts), _BATCH):  # SQLite limits a statement's parameters
                batch = texts[start : start + _BATCH]
                cursor.execute(
                    f"SELECT subject_id, data_key FROM {KEYS_TABLE}"
                    f" WHERE subject_id IN ({','.join('?' * len(batch))})",
                    batch,
                )
                found.update((str(row[0]), row[1]) for row in cursor.fetchall())
        return found

    def _insert_key(self, subject: Any, stored: bytes) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {KEYS_TABLE} (subject_id, data_key, created_at) "
                "VALUES (?, ?, ?) ON CONFLICT (subject_id) DO NOTHING",
                (str(subject), stored, _now()),
            )

    def _shred(self, subject: Any) -> bool:
        with self.datastore.get_connection(commit=True) as connection:
            connection.cursor().execute("PRAGMA secure_delete = ON")
            with connection.transaction(commit=True) as cursor, cursor as raw:
                raw.execute(
                    f"UPDATE {KEYS_TABLE} SET data_key = NULL, forgotten_at = ? "
                    "WHERE subject_id = ? AND data_key IS NOT NULL",
                    (_now(), str(subject)),
                )
                destroyed = raw.rowcount == 1
                if not destroyed:
                    raw.execute(
                        f"INSERT INTO {KEYS_TABLE} "
                        "(subject_id, data_key, created_at, forgotten_at) "
                        "VALUES (?, NULL, ?, ?) ON CONFLICT (subject_id) DO NOTHING",
                        (str(subject), _now(), _now()),
                    )
                    destroyed = raw.rowcount == 1
            with contextlib.suppress(sqlite3.Error):  # busy readers: the next checkpoint
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return destroyed
