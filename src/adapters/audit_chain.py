"""Application recorders that keep the audit chain, for SQLite and PostgreSQL.

Every stored event is linked to its predecessor by ``rotation_domain.audit.chain_hash``
(SHA-256 over the previous hash, the event's position, topic, originator id, version
and stored state bytes). The hashes are computed in the transaction that inserts the
events, after the insert has taken the write lock (SQLite's write transaction,
PostgreSQL's ``EXCLUSIVE`` table lock), so the head read there is the true head and
two writers can never chain to the same predecessor. On SQLite each insert runs two
statements more: one ``SELECT`` of the head (in-process, no round trip) and one
``executemany`` of the new chain entries. On PostgreSQL one call of a function the
store creates (``adapters.audit_chain_postgres``) inserts the events and their chain
entries, so a save sends its statements and its ``COMMIT`` in one pipeline and waits
for the server once.

The chain lives in a table of its own, ``<events table>_audit_chain (position PRIMARY
KEY, hash)``, rather than in a column of the events table: eventsourcing's statements
for the events table (its inserts, its ``SELECT *``, PostgreSQL's composite type) stay
as they are, and an existing store gains the chain without a migration of its events
table. A store opened with these recorders for the first time while it already holds
events has its chain built from the events as they are then (``create_table``): the
chain then vouches for nothing before that moment.

Both recorders implement the core's ports ``AuditChainStore`` (verification reads
every position of both tables, merged) and ``AggregateLog`` (one aggregate's events
with their positions, by the primary key's index).

Select them through ``adapters.store_urls`` (the default for ``sqlite:`` and
``postgresql:`` URLs), or with ``APPLICATION_RECORDER_TOPIC``:
``adapters.audit_chain:ChainedSQLiteApplicationRecorder`` or
``adapters.audit_chain:ChainedPostgresApplicationRecorder``.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from adapters.aggregate_reads import SnapshotAndEvents, select_postgres, select_sqlite
from adapters.audit_chain_postgres import (
    CHAIN_AHEAD,
    HEAD_MOVED,
    call_insert_function,
    create_insert_function,
    insert_function_name,
)
from adapters.personal_keys import PersonalKeys
from adapters.postgres_sql import rendered
from adapters.postgres_warmup import cold_load_warm_ups, warm_new_connections
from adapters.sqlite_subscription import PollingSQLiteApplicationRecorder
from rotation_domain.audit import GENESIS_HASH, ChainRow, chain_hash, originator_text
from rotation_domain.log_head import EXPECTED_HEAD, HeadMoved, check_expected_head

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore
    from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore
    from psycopg import Cursor
    from psycopg.rows import DictRow


_CREATE_ATTEMPTS = 5


def _catalog_race(error: Exception) -> bool:
    """Whether creating tables failed only because another process created them meanwhile."""
    text = str(error)
    return "concurrently" in text or "pg_type_typname_nsp_index" in text or "already exists" in text


__all__ = [
    "VERIFY_PAGE_SIZE",
    "AuditChainError",
    "ChainedPostgresApplicationRecorder",
    "ChainedSQLiteApplicationRecorder",
    "chain_table_name",
]

VERIFY_PAGE_SIZE: Final = 2000
"""Rows of each table read at a time when the chain is verified or built."""


class AuditChainError(PersistenceError):
    """The chain's head is at or past the positions new events were given.

    It happens only when the log was cut back around the recorder (SQLite then hands
    out a position again): the recorder refuses to extend a tampered log.
    """


def chain_table_name(events_table_name: str) -> str:
    """The name of the chain table kept beside an events table."""
    return f"{events_table_name}_audit_chain"


def _chained(
    previous: bytes, ids: Sequence[int], stored_events: Sequence[StoredEvent]
) -> list[tuple[int, bytes]]:
    rows = []
    for position, stored in zip(ids, stored_events, strict=True):
        previous = chain_hash(
            previous,
            position,
            stored.topic,
            originator_text(stored.originator_id),
            stored.originator_version,
            stored.state,
        )
        rows.append((position, previous))
    return rows


def _check_head(head: int, first: int) -> None:
    if first <= head:
        raise AuditChainError(
            f"the audit chain's head is at position {head}, but the log gave the next event "
            f"position {first}: the log was cut back around the recorder; run "
            "verify_audit_trail() and restore the store"
        )


_Row = TypeVar("_Row", bound=tuple[Any, ...])


def _refusal(error: Exception, kwargs: Mapping[str, Any]) -> Exception | None:
    """The `HeadMoved` or `AuditChainError` a refusal of the insert function stands for."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate not in (HEAD_MOVED, CHAIN_AHEAD):
        return None
    diagnostic = getattr(error, "diag", None)
    message = str(getattr(diagnostic, "message_primary", "") or "")
    try:
        if sqlstate == HEAD_MOVED:
            check_expected_head(int(message), kwargs)
        else:
            head, first = (int(part) for part in message.split(","))
            _check_head(head, first)
    except (HeadMoved, AuditChainError) as refused:
        return refused
    return AuditChainError(f"the insert was refused ({sqlstate}): {message}")


def _paged(page: Callable[[int], list[_Row]]) -> Iterator[_Row]:
    """Rows read a page at a time: ``page(after)`` gives those after position ``after``."""
    after = 0
    while True:
        rows = page(after)
        yield from rows
        if len(rows) < VERIFY_PAGE_SIZE:
            return
        after = rows[-1][0]


def _merged(
    events: Iterator[tuple[int, str, str, int, bytes]], chain: Iterator[tuple[int, bytes]]
) -> Iterator[ChainRow]:
    """Merge the events and the chain entries, both in position order, by position."""
    event = next(events, None)
    link = next(chain, None)
    while event is not None or link is not None:
        if event is not None and (link is None or event[0] < link[0]):
            yield (*event, None)
            event = next(events, None)
        elif link is not None and (event is None or link[0] < event[0]):
            yield (link[0], None, None, None, None, link[1])
            link = next(chain, None)
        elif event is not None and link is not None:
            yield (*event, link[1])
            event = next(events, None)
            link = next(chain, None)


class _ReadsKeysWithEvents:
    """A recorder that reads an aggregate's own personal data key with its events.

    The program gives it its key store (`use_personal_keys`); loads then read the key
    row of the aggregate's id in the same statement (``adapters.aggregate_reads``).
    """

    _personal_keys: PersonalKeys | None = None

    def use_personal_keys(self, keys: PersonalKeys) -> None:
        """Read the keys ``keys`` keeps in this recorder's database along with the events."""
        self._personal_keys = keys


class ChainedSQLiteApplicationRecorder(_ReadsKeysWithEvents, PollingSQLiteApplicationRecorder):
    """The polling SQLite application recorder, keeping the audit chain.

    Select it with ``APPLICATION_RECORDER_TOPIC=`` its topic,
    ``adapters.audit_chain:ChainedSQLiteApplicationRecorder``. Given ``expected_head=``,
    ``insert_events`` records only if the log's head is that position
    (`rotation_domain.log_head`).
    """

    checks_expected_head = True

    def __init__(
        self,
        datastore: SQLiteDatastore,
        events_table_name: str = "stored_events",
        *,
        poll_interval: float | None = None,
    ) -> None:
        """Initialise the recorder (arguments as for `PollingSQLiteApplicationRecorder`)."""
        # Set before the base initialiser, which builds the create-table statements.
        self.chain_table_name = chain_table_name(events_table_name)
        super().__init__(datastore, events_table_name, poll_interval=poll_interval)
        self._known_head: tuple[int, bytes] | None = None
        """A chain entry this recorder committed (position, hash): the head, unless
        someone wrote after it."""
        self._inserting = threading.local()
        chain, events = self.chain_table_name, self.events_table_name
        self._select_head = f"SELECT position, hash FROM {chain} ORDER BY position DESC LIMIT 1"
        self._insert_links = f"INSERT INTO {chain} (position, hash) VALUES (?, ?)"
        self._select_heads = (
            f"SELECT (SELECT MAX(rowid) FROM {events}), (SELECT MAX(position) FROM {chain})"
        )
        self._select_event_page = (
            f"SELECT rowid, topic, originator_id, originator_version, state FROM {events} "
            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?"
        )
        self._select_link_page = (
            f"SELECT position, hash FROM {chain} WHERE position > ? AND position <= ? "
            "ORDER BY position LIMIT ?"
        )
        self._select_aggregate = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {events} "
            "WHERE originator_id = ? AND originator_version > ? "
            "ORDER BY originator_version LIMIT ?"
        )

    def construct_create_table_statements(self) -> list[str]:
        """The base statements and the chain table's."""
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} "
            "(position INTEGER PRIMARY KEY, hash BLOB NOT NULL)",
        ]

    def create_table(self) -> None:
        """Create the tables; chain the events of a store that had none chained yet."""
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._select_heads)
            last_event, last_link = c.fetchone()
            if last_event is None or last_link is not None:
                return
            previous, after = GENESIS_HASH, 0
            while True:
                c.execute(self._select_event_page, (after, last_event, VERIFY_PAGE_SIZE))
                page = c.fetchall()
                if not page:
                    return
                links = []
                for position, topic, originator_id, version, state in page:
                    previous = chain_hash(previous, position, topic, originator_id, version, state)
                    links.append((position, previous))
                c.executemany(self._insert_links, links)
                after = page[-1][0]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert and chain the events in one transaction; remember the new chain head."""
        self._inserting.head = None
        ids = super().insert_events(stored_events, **kwargs)
        committed = self._inserting.head
        if committed is not None:  # a fact from now on: chain entries never change
            self._known_head = committed
        return ids

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if not stored_events or not ids:
            return ids
        # The insert above holds the write lock: no one else moves the head meanwhile.
        # When this recorder committed the entry just before the new events, the head is
        # known without asking (no one else wrote in between: the log gave the next
        # position); otherwise it is read.
        known = self._known_head
        if known is not None and known[0] == ids[0] - 1:
            head, previous = known
        else:
            head, previous = self._read_head(c)
            _check_head(head, ids[0])
        check_expected_head(head, kwargs)
        links = _chained(previous, ids, stored_events)
        try:
            c.executemany(self._insert_links, links)
        except sqlite3.IntegrityError:
            # An entry already holds one of the positions: the chain runs past the log.
            _check_head(self._read_head(c)[0], ids[0])
            raise
        self._inserting.head = links[-1]
        return ids

    def _read_head(self, c: SQLiteCursor) -> tuple[int, bytes]:
        """The chain's last entry (position 0 and the genesis hash while it is empty)."""
        c.execute(self._select_head)
        head = c.fetchone()
        return (0, GENESIS_HASH) if head is None else (int(head[0]), bytes(head[1]))

    def select_snapshot_and_events(
        self, snapshots: Any, originator_id: UUID, *, lte: int | None = None
    ) -> SnapshotAndEvents | None:
        """The latest snapshot in ``snapshots`` and the events after it, in one query.

        None when the snapshot recorder keeps them in another database.
        """
        return select_sqlite(self, snapshots, originator_id, lte=lte, keys=self._personal_keys)

    # The port AuditChainStore.

    def audit_chain_head(self) -> tuple[int, bytes] | None:
        """The last chain entry's position and hash, or None while the chain is empty."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._select_head)
            head = c.fetchone()
        return None if head is None else (int(head[0]), bytes(head[1]))

    def audit_chain_rows(self, *, upto: int | None = None) -> Iterator[ChainRow]:
        """Every position holding an event or a chain entry, in order, a page at a time."""
        if upto is None:
            with self.datastore.transaction(commit=False) as c:
                c.execute(self._select_heads)
                last_event, last_link = c.fetchone()
            upto = max(last_event or 0, last_link or 0)
        return _merged(self._event_rows(upto), self._link_rows(upto))

    def _event_rows(self, upto: int) -> Iterator[tuple[int, str, str, int, bytes]]:
        def page(after: int) -> list[tuple[int, str, str, int, bytes]]:
            with self.datastore.transaction(commit=False) as c:
                c.execute(self._select_event_page, (after, upto, VERIFY_PAGE_SIZE))
                return [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in c.fetchall()]

        return _paged(page)

    def _link_rows(self, upto: int) -> Iterator[tuple[int, bytes]]:
        def page(after: int) -> list[tuple[int, bytes]]:
            with self.datastore.transaction(commit=False) as c:
                c.execute(self._select_link_page, (after, upto, VERIFY_PAGE_SIZE))
                return [(r[0], bytes(r[1])) for r in c.fetchall()]

        return _paged(page)

    # The port AggregateLog.

    def select_aggregate_notifications(
        self, originator_id: UUID, *, gt: int | None = None, limit: int = 500
    ) -> Sequence[Notification]:
        """The aggregate's events after version ``gt``, by version, with their positions."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._select_aggregate, (originator_text(originator_id), gt or 0, limit))
            return [
                Notification(
                    id=row[0],
                    originator_id=self.convert_originator_id(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]),
                )
                for row in c.fetchall()
            ]


class ChainedPostgresApplicationRecorder(_ReadsKeysWithEvents, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, keeping the audit chain.

    Select it with ``APPLICATION_RECORDER_TOPIC=`` its topic,
    ``adapters.audit_chain:ChainedPostgresApplicationRecorder``.
    It needs ``POSTGRES_ENABLE_DB_FUNCTIONS`` off (the default): the database function
    inserts events without this recorder seeing their positions. Given
    ``expected_head=``, ``insert_events`` records only if the log's head is that
    position (`rotation_domain.log_head`).
    """

    checks_expected_head = True

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        """Initialise the recorder (arguments as for `PostgresApplicationRecorder`).

        Raises:
            ProgrammingError: ``POSTGRES_ENABLE_DB_FUNCTIONS`` is on, or a name is too long.
        """
        # Each connection the pool opens runs a load's statements once before it is handed
        # out (adapters.postgres_warmup). The pool opens in eventsourcing's constructor.
        warm_new_connections(datastore, cold_load_warm_ups(datastore.schema, events_table_name))
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise ProgrammingError(
                "the audit chain needs POSTGRES_ENABLE_DB_FUNCTIONS off: the database "
                "function inserts events without the recorder chaining them"
            )
        self.chain_table_name = chain_table_name(events_table_name)
        self.check_identifier_length(self.chain_table_name)
        schema = Identifier(datastore.schema)
        chain = Identifier(self.chain_table_name)
        events = Identifier(self.events_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} "
                "(position bigint PRIMARY KEY, hash bytea NOT NULL)"
            ).format(schema, chain)
        )
        self._select_head = SQL(
            "SELECT position, hash FROM {0}.{1} ORDER BY position DESC LIMIT 1"
        ).format(schema, chain)
        self._insert_links = SQL("INSERT INTO {0}.{1} (position, hash) VALUES (%s, %s)").format(
            schema, chain
        )
        self._select_heads = SQL(
            "SELECT (SELECT MAX(notification_id) FROM {0}.{1}) AS events, "
            "(SELECT MAX(position) FROM {0}.{2}) AS links"
        ).format(schema, events, chain)
        self._select_event_page = SQL(
            "SELECT notification_id, topic, originator_id, originator_version, state "
            "FROM {0}.{1} WHERE notification_id > %s AND notification_id <= %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(schema, events)
        self._select_link_page = SQL(
            "SELECT position, hash FROM {0}.{1} WHERE position > %s AND position <= %s "
            "ORDER BY position LIMIT %s"
        ).format(schema, chain)
        self._select_aggregate = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {0}.{1} WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version LIMIT %s"
        ).format(schema, events)
        self._lock_events = SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(schema, events)
        # Events are inserted and chained by one function call (adapters.audit_chain_postgres).
        self.check_identifier_length(insert_function_name(self.events_table_name))
        self.sql_create_statements.append(
            create_insert_function(
                schema=datastore.schema,
                events_table=self.events_table_name,
                chain_table=self.chain_table_name,
                stored_event_type=self.stored_event_type_name,
                originator_id_type=datastore.originator_id_type,
                channel=self.channel_name,
            )
        )
        self._lock_timeout = f"{datastore.lock_timeout}s"
        """The insert function's ``lock_timeout``, as eventsourcing sets it before locking."""
        self._call_insert = rendered(
            call_insert_function(
                schema=datastore.schema,
                events_table=self.events_table_name,
                stored_event_type=self.stored_event_type_name,
            )
        )

    def create_table(self) -> None:
        """Create the tables; chain the events of a store that had none chained yet.

        Processes opening a new database at the same moment race in PostgreSQL's catalog
        ("tuple concurrently updated", or a duplicate type name) when both create a
        table: the loser tries again, and then finds the tables there. The snapshots
        table beside the events (``<prefix>_snapshots``) is created here too, under the
        same retries: eventsourcing's snapshot recorder, which the application makes
        next, creates it without any, and then finds it there.
        """
        for attempt in range(1, _CREATE_ATTEMPTS + 1):
            try:
                super().create_table()
                if self.events_table_name.endswith("_events"):
                    snapshots = self.events_table_name.removesuffix("_events") + "_snapshots"
                    PostgresAggregateRecorder(
                        self.datastore, events_table_name=snapshots
                    ).create_table()
                break
            except (InternalError, IntegrityError, ProgrammingError) as error:
                if attempt == _CREATE_ATTEMPTS or not _catalog_race(error):
                    raise
                time.sleep(random.uniform(0.05, 0.25))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._lock_events)
            curs.execute(self._select_heads)
            heads = curs.fetchone()
            if heads is None or heads["events"] is None or heads["links"] is not None:
                return
            previous, after = GENESIS_HASH, 0
            while True:
                curs.execute(self._select_event_page, (after, heads["events"], VERIFY_PAGE_SIZE))
                page = curs.fetchall()
                if not page:
                    return
                links = []
                for row in page:
                    previous = chain_hash(
                        previous,
                        row["notification_id"],
                        row["topic"],
                        originator_text(row["originator_id"]),
                        row["originator_version"],
                        bytes(row["state"]),
                    )
                    links.append((row["notification_id"], previous))
                curs.executemany(self._insert_links, links)
                after = page[-1]["notification_id"]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Record the events and chain them in one transaction, or record nothing.

        As eventsourcing's method (the table locked, the positions read back), but the
        events are inserted and chained by one call of the store's insert function, and
        the ``COMMIT`` goes in the same pipeline: one wait for the server. Given
        ``expected_head=``, the function records only if the log's head is that position
        (`HeadMoved` otherwise); a chain that runs past the new positions raises
        `AuditChainError`.
        """
        if not stored_events:
            return []
        # The events go in binary (`call_insert_function`), where a text column takes
        # only text: an id is given as the text a text dump would have sent.
        text_ids = self.datastore.originator_id_type == "text"
        events = [
            self.construct_pg_stored_event(
                str(stored.originator_id) if text_ids else stored.originator_id,
                stored.originator_version,
                stored.topic,
                stored.state,
            )
            for stored in stored_events
        ]
        expected = kwargs.get(EXPECTED_HEAD)
        error: Exception | None = None
        rows: list[Any] = []
        with self.datastore.get_connection() as conn:
            with conn.pipeline(), conn.cursor() as curs:
                try:
                    with conn.transaction():  # the function locks the table and notifies
                        curs.execute(self._call_insert, (events, expected, self._lock_timeout))
                    rows = curs.fetchall()
                except Exception as raised:  # noqa: BLE001 - raised below, outside the pipeline
                    error = raised
            if error is not None:
                raise _refusal(error, kwargs) or error
        return [next(iter(row.values())) if isinstance(row, dict) else row[0] for row in rows]

    def select_snapshot_and_events(
        self, snapshots: Any, originator_id: UUID, *, lte: int | None = None
    ) -> SnapshotAndEvents | None:
        """The latest snapshot in ``snapshots`` and the events after it, in one round trip.

        None when the snapshot recorder keeps them in another database.
        """
        return select_postgres(self, snapshots, originator_id, lte=lte, keys=self._personal_keys)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Cursor[DictRow]]:
        """A cursor for one read statement: one round trip on an autocommit connection.

        The datastore's ``transaction()`` would send a BEGIN and a ROLLBACK too: two more
        round trips for a statement that is its own transaction anyway.
        """
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            yield cursor

    # The port AuditChainStore.

    def audit_chain_head(self) -> tuple[int, bytes] | None:
        """The last chain entry's position and hash, or None while the chain is empty."""
        with self._reading() as curs:
            curs.execute(self._select_head)
            head = curs.fetchone()
        return None if head is None else (int(head["position"]), bytes(head["hash"]))

    def audit_chain_rows(self, *, upto: int | None = None) -> Iterator[ChainRow]:
        """Every position holding an event or a chain entry, in order, a page at a time."""
        if upto is None:
            with self._reading() as curs:
                curs.execute(self._select_heads)
                heads = curs.fetchone()
            upto = max((heads or {}).get("events") or 0, (heads or {}).get("links") or 0)
        return _merged(self._event_rows(upto), self._link_rows(upto))

    def _event_rows(self, upto: int) -> Iterator[tuple[int, str, str, int, bytes]]:
        def page(after: int) -> list[tuple[int, str, str, int, bytes]]:
            with self._reading() as curs:
                curs.execute(self._select_event_page, (after, upto, VERIFY_PAGE_SIZE))
                return [
                    (
                        r["notification_id"],
                        r["topic"],
                        originator_text(r["originator_id"]),
                        r["originator_version"],
                        bytes(r["state"]),
                    )
                    for r in curs.fetchall()
                ]

        return _paged(page)

    def _link_rows(self, upto: int) -> Iterator[tuple[int, bytes]]:
        def page(after: int) -> list[tuple[int, bytes]]:
            with self._reading() as curs:
                curs.execute(self._select_link_page, (after, upto, VERIFY_PAGE_SIZE))
                return [(r["position"], bytes(r["hash"])) for r in curs.fetchall()]

        return _paged(page)

    # The port AggregateLog.

    def select_aggregate_notifications(
        self, originator_id: UUID, *, gt: int | None = None, limit: int = 500
    ) -> Sequence[Notification]:
        """The aggregate's events after version ``gt``, by version, with their positions."""
        with self._reading() as curs:
            curs.execute(self._select_aggregate, (originator_id, gt or 0, limit))
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


def _as_uuid(stored: StoredEvent) -> StoredEvent:
    """The stored event with its text originator id as the UUID PostgreSQL keeps."""
    return StoredEvent(
        originator_id=UUID(str(stored.originator_id)),
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state,
    )
