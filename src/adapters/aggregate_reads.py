"""An aggregate's latest snapshot and the events after it, read in one query.

eventsourcing's `Repository` loads an aggregate with two queries: the latest snapshot,
then the events after its version. On PostgreSQL each is a round trip to the server;
the audit-chained recorders (`adapters.audit_chain`) answer both in one statement
instead, when the snapshots live in the same database, through
``select_snapshot_and_events``, which `rotation_domain._repository.ProgramRepository`
uses when the recorder has it.

The same statement also reads the personal data key row of the aggregate's own id when
the key store keeps its keys in that database and has not cached that key: an
employee's events seal the employee's data with the employee's own key, so loading an
employee not seen for a while would otherwise cost a second round trip, the key's.
"""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from adapters.personal_keys import KEYS_TABLE, PersonalKeys
from adapters.postgres_sql import rendered

__all__ = ["SnapshotAndEvents", "postgres_load_statement", "select_postgres", "select_sqlite"]

SnapshotAndEvents = tuple[StoredEvent | None, list[StoredEvent]]
"""The latest snapshot (None when there is none) and the events after its version."""

_KEY_ROW = 2
"""The kind of the row that holds the aggregate id's personal data key, if it has one."""

_SQLITE = """
WITH snap AS (
    SELECT originator_version, topic, state FROM {snapshots}
    WHERE originator_id = ?{snapshot_upto} ORDER BY originator_version DESC LIMIT 1
)
SELECT 0, originator_version, topic, state FROM snap
UNION ALL
SELECT 1, originator_version, topic, state FROM {events}
WHERE originator_id = ?
  AND originator_version > COALESCE((SELECT originator_version FROM snap), 0){event_upto}{key}
ORDER BY 1, 2
"""
_SQLITE_KEY = f"""
UNION ALL
SELECT {_KEY_ROW}, 0, '', data_key FROM {KEYS_TABLE} WHERE subject_id = ?"""

_POSTGRES = """
WITH snap AS (
    SELECT originator_version, topic, state FROM {schema}.{snapshots}
    WHERE originator_id = %(id)s{snapshot_upto} ORDER BY originator_version DESC LIMIT 1
)
SELECT 0 AS kind, originator_version, topic, state FROM snap
UNION ALL
SELECT 1 AS kind, originator_version, topic, state FROM {schema}.{events}
WHERE originator_id = %(id)s
  AND originator_version > COALESCE((SELECT originator_version FROM snap), 0){event_upto}{key}
ORDER BY 1, 2
"""
_POSTGRES_KEY = f"""
UNION ALL
SELECT {_KEY_ROW} AS kind, 0 AS originator_version, '' AS topic, data_key AS state
FROM {{schema}}.{{keys}} WHERE subject_id = %(id)s"""


def _split(originator_id: UUID, rows: list[tuple[Any, ...]], keys: Any) -> SnapshotAndEvents:
    """The snapshot and events of the rows; a key row read with them goes to ``keys``."""
    snapshot: StoredEvent | None = None
    events: list[StoredEvent] = []
    for kind, version, topic, state in rows:
        if kind == _KEY_ROW:
            keys.accept(str(originator_id), None if state is None else bytes(state))
            continue
        stored = StoredEvent(
            originator_id=originator_id,
            originator_version=int(version),
            topic=str(topic),
            state=bytes(state),
        )
        if kind == 0:
            snapshot = stored
        else:
            events.append(stored)
    return snapshot, events


def _keys_wanted(recorder: Any, keys: Any, originator_id: UUID) -> bool:
    """Whether to read the id's key row too: the keys live here and that key is not cached."""
    return (
        isinstance(keys, PersonalKeys)
        and getattr(keys, "datastore", None) is recorder.datastore
        and keys.wants(str(originator_id))
    )


def _snapshots_table(recorder: Any, snapshots: Any) -> str | None:
    """The snapshots' table when it is in the recorder's database, else None."""
    if getattr(snapshots, "datastore", None) is not recorder.datastore:
        return None
    table = getattr(snapshots, "events_table_name", None)
    return table if isinstance(table, str) else None


def select_sqlite(
    recorder: Any,
    snapshots: Any,
    originator_id: UUID,
    *,
    lte: int | None = None,
    keys: PersonalKeys | None = None,
) -> SnapshotAndEvents | None:
    """One query on a SQLite recorder; None when its snapshots are kept elsewhere.

    With ``keys`` (the program's key store), the id's key row is read in the same query
    when the store keeps it in this database and has not cached it.
    """
    table = _snapshots_table(recorder, snapshots)
    if table is None or not isinstance(recorder.datastore, SQLiteDatastore):
        return None
    upto = "" if lte is None else " AND originator_version <= ?"
    with_key = _keys_wanted(recorder, keys, originator_id)
    statement = _SQLITE.format(
        snapshots=table,
        events=recorder.events_table_name,
        snapshot_upto=upto,
        event_upto=upto,
        key=_SQLITE_KEY if with_key else "",
    )
    params: list[Any] = [originator_id.hex]
    if lte is not None:
        params.append(lte)
    params.append(originator_id.hex)
    if lte is not None:
        params.append(lte)
    if with_key:
        params.append(str(originator_id))  # the key store keeps ids as text
    # One statement on the autocommit connection is a transaction of its own: no BEGIN
    # and ROLLBACK around it, as the datastore's `transaction()` would send.
    # The recorder's connection for the command path when it has one (its page cache is
    # warm after its own commits: `adapters.sqlite_writer`), else one from the pool.
    read_connection = getattr(recorder, "read_connection", None)
    opened = (
        read_connection()
        if read_connection is not None
        else recorder.datastore.get_connection(commit=False)
    )
    with opened as connection, connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = [tuple(row) for row in cursor.fetchall()]
    return _split(originator_id, rows, keys)


@functools.lru_cache(maxsize=64)
def postgres_load_statement(
    schema: str, snapshots: str, events: str, *, upto: bool, with_key: bool
) -> bytes:
    """The statement `select_postgres` sends: parameters ``id``, and ``lte`` with ``upto``.

    Composed and rendered once per shape (`adapters.postgres_sql`), and shared with
    `adapters.postgres_warmup`, which runs it on each new connection so that the
    prepared statement is found there again.
    """
    bound = " AND originator_version <= %(lte)s" if upto else ""
    statement = SQL(
        _POSTGRES.format(
            schema="{schema}",
            snapshots="{snapshots}",
            events="{events}",
            snapshot_upto=bound,
            event_upto=bound,
            key=_POSTGRES_KEY if with_key else "",
        )
    ).format(
        schema=Identifier(schema),
        snapshots=Identifier(snapshots),
        events=Identifier(events),
        keys=Identifier(KEYS_TABLE),
    )
    return rendered(statement)


def select_postgres(
    recorder: Any,
    snapshots: Any,
    originator_id: UUID,
    *,
    lte: int | None = None,
    keys: PersonalKeys | None = None,
) -> SnapshotAndEvents | None:
    """One round trip on a PostgreSQL recorder; None when its snapshots are kept elsewhere.

    With ``keys`` (the program's key store), the id's key row is read in the same round
    trip when the store keeps it in this schema and has not cached it.
    """
    table = _snapshots_table(recorder, snapshots)
    datastore = recorder.datastore
    if table is None or not isinstance(datastore, PostgresDatastore):
        return None
    if datastore.originator_id_type != "uuid":  # ids kept as text: eventsourcing's two queries
        return None
    with_key = _keys_wanted(recorder, keys, originator_id)
    statement = postgres_load_statement(
        datastore.schema,
        table,
        recorder.events_table_name,
        upto=lte is not None,
        with_key=with_key,
    )
    params: dict[str, Any] = {"id": originator_id, "lte": lte}
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, params, prepare=True)
        rows = [
            (row["kind"], row["originator_version"], row["topic"], row["state"])
            for row in cursor.fetchall()
        ]
    return _split(originator_id, rows, keys)
