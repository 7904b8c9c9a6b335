"""Personal data keys in a table of the PostgreSQL schema that holds the events.

The same table as the SQLite store's (``adapters.personal_keys_sqlite``), in the store's
schema, reached through the recorder's connection pool: ``rotation_personal_keys`` (one
row per person, ``data_key`` NULL once forgotten).
A destroyed key's old row version stays in the table's pages until VACUUM reclaims it
(docs/privacy.md).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from adapters.consumer_store_postgres import SCHEMA_LOCK
from adapters.personal_keys import KEYS_TABLE, PersonalKeys
from adapters.postgres_sql import rendered

__all__ = ["PostgresPersonalKeys", "select_key_statement", "select_keys_statement"]


def select_key_statement(schema: str) -> bytes:
    """The statement that reads one person's key row (parameter: the person's id)."""
    table = sql.Identifier(schema, KEYS_TABLE)
    return rendered(sql.SQL("SELECT data_key FROM {} WHERE subject_id = %s").format(table))


def select_keys_statement(schema: str) -> bytes:
    """The statement that reads several people's key rows (parameter: a list of ids)."""
    table = sql.Identifier(schema, KEYS_TABLE)
    return rendered(
        sql.SQL("SELECT subject_id, data_key FROM {} WHERE subject_id = ANY(%s)").format(table)
    )


class PostgresPersonalKeys(PersonalKeys):
    """Keys in the events' PostgreSQL schema, through the recorder's datastore.

    Args:
        datastore: The application recorder's datastore (its pool and schema).
        kek: The key-encryption key (base64 of 32 bytes), if any.
    """

    def __init__(self, datastore: PostgresDatastore, kek: str | None = None) -> None:
        super().__init__(kek)
        self.datastore = datastore
        schema = sql.Identifier(datastore.schema)
        self._keys_table = sql.SQL("{}.{}").format(schema, sql.Identifier(KEYS_TABLE))
        self._select_one = select_key_statement(datastore.schema)
        self._select_many = select_keys_statement(datastore.schema)
        with datastore.transaction(commit=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cursor.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (subject_id uuid PRIMARY KEY, "
                    "data_key bytea, created_at timestamptz NOT NULL DEFAULT now(), "
                    "forgotten_at timestamptz)"
                ).format(self._keys_table)
            )

    def _select_key(self, subject: Any) -> tuple[bool, bytes | None]:
        # One statement on an autocommit connection: one round trip. (The datastore's
        # `transaction()` would add a BEGIN and a ROLLBACK, two more.)
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(self._select_one, (subject,))
            row = cursor.fetchone()
        if row is None:
            return False, None
        stored = row["data_key"]
        return True, bytes(stored) if stored is not None else None

    def _select_keys(self, subjects: list[Any]) -> dict[str, bytes | None]:
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(self._select_many, (subjects,))
            rows = cursor.fetchall()
        return {
            str(row["subject_id"]): bytes(row["data_key"]) if row["data_key"] is not None else None
            for row in rows
        }

    def _insert_key(self, subject: Any, stored: bytes) -> None:
        # One statement, committed on its own by the autocommit connection.
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (subject_id, data_key) VALUES (%s, %s) "
                    "ON CONFLICT (subject_id) DO NOTHING"
                ).format(self._keys_table),
                (subject, stored),
            )

    def _shred(self, subject: Any) -> bool:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql.SQL(
                    "UPDATE {} SET data_key = NULL, forgotten_at = now() "
                    "WHERE subject_id = %s AND data_key IS NOT NULL"
                ).format(self._keys_table),
                (subject,),
            )
            if cursor.rowcount == 1:
                return True
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (subject_id, data_key, forgotten_at) "
                    "VALUES (%s, NULL, now()) ON CONFLICT (subject_id) DO NOTHING"
                ).format(self._keys_table),
                (subject,),
            )
            return cursor.rowcount == 1
