"""New PostgreSQL connections that have already run the statements of a cold load.

A new server process (one per connection) knows nothing of the tables yet: the first
time it plans a statement it reads their catalog entries, indexes and statistics, and
a prepared statement is parsed and planned once per connection. On a store of 10,000
rotations the Program's first load on a new connection took 4.6 ms against 1.6-1.7 ms
once that connection had run the same statements (measured here, twelve connections
each). The pool opens its connections when the program opens and again whenever one
reaches its maximum age, so without this every such connection makes one command slow.

`warm_new_connections` makes each connection the pool opens from then on run those
statements once, for an id no aggregate has, before the pool hands it out: the cost
moves to the pool's background connect. eventsourcing builds the pool inside its
factory and gives psycopg_pool its own ``configure`` callback; psycopg_pool keeps that
callback in ``_configure`` and offers no other way to add one after construction, so
this chains onto it there, before the pool opens (ADR 0015).

A warm-up never fails a connection: a statement that cannot run (the tables of a new
store do not exist yet when its first connections open) is skipped, and the
connection is handed out as it would have been without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore

__all__ = [
    "NO_ID",
    "WarmUp",
    "cold_load_warm_ups",
    "fast_forward_statement",
    "qualified",
    "snapshots_table_name",
    "warm_new_connections",
    "warm_up",
]

_log = logging.getLogger(__name__)

NO_ID = UUID(int=0)
"""The id the warm-up statements ask for: the nil UUID, which no aggregate or person has."""

_TABLES_PRESENT = SQL("SELECT to_regclass(%s) IS NOT NULL")


@dataclass(frozen=True)
class WarmUp:
    """One statement a new connection runs once, with what it needs.

    Attributes:
        statement: The statement, composed exactly as the code that sends it later
            composes it, so that a prepared statement is found again.
        params: Its parameters, of the same types as the real ones (ids as `UUID`).
        tables: Qualified names of the tables it reads; it is skipped when one is missing.
        prepare: As the real statement is sent: True (prepared at once) or None
            (psycopg prepares it after a few executions).
    """

    statement: bytes | Composed
    params: Sequence[Any] | dict[str, Any]
    tables: tuple[str, ...]
    prepare: bool | None = True


def warm_up(connection: psycopg.Connection[Any], warm_ups: Sequence[WarmUp]) -> int:
    """Run each statement whose tables exist on ``connection``; return how many ran.

    The connection must be in autocommit mode (the pool's are): a statement that fails
    leaves it idle, and it is logged at debug level and skipped. Never raises for a
    database error.
    """
    present: dict[str, bool] = {}
    ran = 0
    with connection.cursor(row_factory=tuple_row) as cursor:
        for item in warm_ups:
            try:
                for table in item.tables:
                    if table not in present:
                        row = cursor.execute(_TABLES_PRESENT, (table,)).fetchone()
                        present[table] = bool(row and row[0])
                if not all(present[table] for table in item.tables):
                    continue
                cursor.execute(item.statement, item.params, prepare=item.prepare).fetchall()
                ran += 1
            except psycopg.Error as error:
                _log.debug("warm-up statement skipped on a new connection: %s", error)
    return ran


def warm_new_connections(datastore: PostgresDatastore, warm_ups: Sequence[WarmUp]) -> bool:
    """Have every connection ``datastore``'s pool opens from now on run ``warm_ups`` first.

    Call it before the pool opens: eventsourcing's recorders open it in their
    constructor (to register the stored event's composite type). Returns False,
    changing nothing, when the pool is open already or psycopg_pool no longer keeps its
    callback where this expects it.
    """
    pool: Any = datastore.pool
    if getattr(pool, "_opened", False) or not hasattr(pool, "_configure"):
        return False
    configure: Callable[[Any], None] | None = pool._configure
    statements = tuple(warm_ups)

    def configure_and_warm(connection: Any) -> None:
        if configure is not None:
            configure(connection)
        if not connection.autocommit:
            return
        try:
            warm_up(connection, statements)
        except Exception:  # noqa: BLE001  (a warm-up must never cost the pool a connection)
            _log.warning("warming up a new connection failed", exc_info=True)

    pool._configure = configure_and_warm
    return True


def qualified(schema: str, table: str) -> str:
    """``schema.table`` quoted as `to_regclass` reads it."""
    return Identifier(schema, table).as_string(None)


def snapshots_table_name(events_table_name: str) -> str:
    """The snapshots' table eventsourcing's factory makes beside ``{prefix}_events``."""
    prefix = events_table_name.removesuffix("_events")
    return f"{prefix}_snapshots"


def fast_forward_statement(schema: str, events_table: str) -> Composed:
    """What eventsourcing's ``select_events(id, gt=version)`` sends, composed as it does.

    ``PostgresAggregateRecorder.select_events_statement`` and the clauses its
    ``select_events`` adds for ``gt=``; a test holds the two equal.
    """
    return (
        SQL("SELECT * FROM {schema}.{table} WHERE originator_id = %s").format(
            schema=Identifier(schema), table=Identifier(events_table)
        )
        + SQL(" AND originator_version > %s")
        + SQL(" ORDER BY originator_version")
        + SQL(" ASC")
    )


def cold_load_warm_ups(schema: str, events_table: str) -> list[WarmUp]:
    """The statements an aggregate's load sends to a PostgreSQL store of this project.

    Its snapshot and events, with and without the person's key row
    (`adapters.aggregate_reads.postgres_load_statement`), the keys of the people its
    events seal (`adapters.personal_keys_postgres`), and the events after a cached
    version (eventsourcing's ``select_events(id, gt=)``, what a cached aggregate's
    fast-forward sends).
    """
    from adapters.aggregate_reads import postgres_load_statement
    from adapters.personal_keys import KEYS_TABLE
    from adapters.personal_keys_postgres import select_key_statement, select_keys_statement

    snapshots_table = snapshots_table_name(events_table)
    events = qualified(schema, events_table)
    snapshots = qualified(schema, snapshots_table)
    keys = qualified(schema, KEYS_TABLE)
    by_id = {"id": NO_ID, "lte": None}
    return [
        *(
            WarmUp(
                postgres_load_statement(
                    schema, snapshots_table, events_table, upto=False, with_key=with_key
                ),
                by_id,
                (events, snapshots, keys) if with_key else (events, snapshots),
            )
            for with_key in (False, True)
        ),
        WarmUp(select_keys_statement(schema), ([NO_ID],), (keys,), prepare=None),
        WarmUp(select_key_statement(schema), (NO_ID,), (keys,), prepare=None),
        WarmUp(fast_forward_statement(schema, events_table), (NO_ID, 0), (events,)),
    ]
