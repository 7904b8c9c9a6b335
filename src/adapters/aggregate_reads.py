"""An aggregate's latest snapshot and the events after it, read in one query.

eventsourcing's `Repository` loads an aggregate with two queries: the latest snapshot,
then the events after its version. On PostgreSQL each is a round trip to the server;
the audit-chained recorders (`adapters.audit_chain`) answer both in one statement
instead, when the snapshots live in the same database, through
``select_snapshot_and_events``, which `rotation_domain._repository.ProgramRepository`
uses when the recorder has it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier

__all__ = ["SnapshotAndEvents", "select_postgres", "select_sqlite"]

SnapshotAndEvents = tuple[StoredEvent | None, list[StoredEvent]]
"""The latest snapshot (None when there is none) and the events after its version."""

_SQLITE = """
WITH snap AS (
    SELECT originator_version, topic, state FROM {snapshots}
    WHERE originator_id = ?{snapshot_upto} ORDER BY originator_version DESC LIMIT 1
)
SELECT 0, originator_version, topic, state FROM snap
UNION ALL
SELECT 1, originator_version, topic, state FROM {events}
WHERE originator_id = ?
  AND originator_version > COALESCE((SELECT originator_version FROM snap), 0){event_upto}
ORDER BY 1, 2
"""

_POSTGRES = """
WITH snap AS (
    SELECT originator_version, topic, state FROM {schema}.{snapshots}
    WHERE originator_id = %(id)s{snapshot_upto} ORDER BY originator_version DESC LIMIT 1
)
SELECT 0 AS kind, originator_version, topic, state FROM snap
UNION ALL
SELECT 1 AS kind, originator_version, topic, state FROM {schema}.{events}
WHERE originator_id = %(id)s
  AND originator_version > COALESCE((SELECT originator_version FROM snap), 0){event_upto}
ORDER BY 1, 2
"""


def _split(originator_id: UUID, rows: list[tuple[int, int, str, bytes]]) -> SnapshotAndEvents:
    snapshot: StoredEvent | None = None
    events: list[StoredEvent] = []
    for kind, version, topic, state in rows:
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


def _snapshots_table(recorder: Any, snapshots: Any) -> str | None:
    """The snapshots' table when it is in the recorder's database, else None."""
    if getattr(snapshots, "datastore", None) is not recorder.datastore:
        return None
    table = getattr(snapshots, "events_table_name", None)
    return table if isinstance(table, str) else None


def select_sqlite(
    recorder: Any, snapshots: Any, originator_id: UUID, *, lte: int | None = None
) -> SnapshotAndEvents | None:
    """One query on a SQLite recorder; None when its snapshots are kept elsewhere."""
    table = _snapshots_table(recorder, snapshots)
    if table is None or not isinstance(recorder.datastore, SQLiteDatastore):
        return None
    upto = "" if lte is None else " AND originator_version <= ?"
    statement = _SQLITE.format(
        snapshots=table,
        events=recorder.events_table_name,
        snapshot_upto=upto,
        event_upto=upto,
    )
    params: list[Any] = [originator_id.hex]
    if lte is not None:
        params.append(lte)
    params.append(originator_id.hex)
    if lte is not None:
        params.append(lte)
    # One statement on the autocommit connection is a transaction of its own: no BEGIN
    # and ROLLBACK around it, as the datastore's `transaction()` would send.
    datastore = recorder.datastore
    with datastore.get_connection(commit=False) as connection, connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = [tuple(row) for row in cursor.fetchall()]
    return _split(originator_id, rows)


def select_postgres(
    recorder: Any, snapshots: Any, originator_id: UUID, *, lte: int | None = None
) -> SnapshotAndEvents | None:
    """One round trip on a PostgreSQL recorder; None when its snapshots are kept elsewhere."""
    table = _snapshots_table(recorder, snapshots)
    datastore = recorder.datastore
    if table is None or not isinstance(datastore, PostgresDatastore):
        return None
    if datastore.originator_id_type != "uuid":  # ids kept as text: eventsourcing's two queries
        return None
    upto = "" if lte is None else " AND originator_version <= %(lte)s"
    statement: Composed = SQL(
        _POSTGRES.format(
            schema="{schema}",
            snapshots="{snapshots}",
            events="{events}",
            snapshot_upto=upto,
            event_upto=upto,
        )
    ).format(
        schema=Identifier(datastore.schema),
        snapshots=Identifier(table),
        events=Identifier(recorder.events_table_name),
    )
    params: dict[str, Any] = {"id": originator_id, "lte": lte}
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, params, prepare=True)
        rows = [
            (row["kind"], row["originator_version"], row["topic"], row["state"])
            for row in cursor.fetchall()
        ]
    return _split(originator_id, rows)
