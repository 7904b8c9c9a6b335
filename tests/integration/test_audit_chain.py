"""The audit chain on SQLite and PostgreSQL: every change made around the recorder is caught.

Each test records a short story through the program, then changes the store's tables
directly, as someone with database access could, and checks that
``verify_audit_trail()`` names the first position that was touched. A seal taken
before the change also catches what the chain alone cannot (a cut tail, a rewritten
chain).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from unittest import TestCase
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

# Reached through the module so pytest does not collect the abstract cases here too.
from eventsourcing.tests import persistence as es_persistence_tests

from adapters.audit_chain import (
    AuditChainError,
    ChainedPostgresApplicationRecorder,
    ChainedSQLiteApplicationRecorder,
)
from adapters.store_urls import settings_for_url
from rotation_domain import RotationProgram, open_program
from rotation_domain.audit import AggregateLog, AuditChainStore, AuditSeal, verify_chain
from rotation_domain.log_head import EXPECTED_HEAD, HeadMoved

TODAY = date(2027, 1, 1)
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def story(program: RotationProgram) -> str:
    """Record a few events: departments, people, a rotation planned and started."""
    with program.acting_as("cio@example.com"):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_department("FIN", name="Finance")
        program.register_employee("E1", name="Ada", email="ada@example.com", department="IT")
        program.register_employee("M1", name="Grace", email="g@example.com", department="FIN")
        program.set_policy(max_concurrent=3)
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = program.nominate_mentor(rotation, mentor="M1")
    with program.acting_as("M1"):
        program.accept_mentorship(mentorship)
    with program.acting_as("cio@example.com"):
        program.start_rotation(rotation, on=date(2027, 1, 4))
    return str(rotation)


class Store:
    """A store on one backend, and a raw connection to change its tables behind its back."""

    def __init__(self, url: str, execute: Callable[[str, tuple[Any, ...]], list[Any]]) -> None:
        self.url = url
        self.execute = execute
        sqlite = url.startswith("sqlite")
        self.id_column = "rowid" if sqlite else "notification_id"
        self.events = "stored_events" if sqlite else "rotationprogram_events"
        self.chain = f"{self.events}_audit_chain"

    def open(self) -> RotationProgram:
        return open_program(self.url, today=lambda: TODAY)

    def positions(self) -> list[int]:
        rows = self.execute(f"SELECT {self.id_column} FROM {self.events} ORDER BY 1", ())
        return [row[0] for row in rows]

    def swap(self, first: int, second: int) -> None:
        """Swap two events' positions (their places in the log)."""
        column = self.id_column
        for old, new in ((first, -1), (second, first), (-1, second)):
            self.execute(f"UPDATE {self.events} SET {column} = %s WHERE {column} = %s", (new, old))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        path = tmp_path / "audit.db"

        def execute_sqlite(sql: str, params: tuple[Any, ...]) -> list[Any]:
            with sqlite3.connect(path) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()

        yield Store(f"sqlite:///{path}", execute_sqlite)
        return
    url = request.getfixturevalue("postgres_schema_url")
    schema = url.rsplit("schema=", 1)[1]

    def execute_postgres(sql: str, params: tuple[Any, ...]) -> list[Any]:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            cursor = conn.execute(sql.encode(), params)
            return cursor.fetchall() if cursor.description else []

    yield Store(url, execute_postgres)


def test_an_untouched_store_verifies_and_its_seal_holds(store: Store) -> None:
    with store.open() as program:
        story(program)
        assert isinstance(program.app.recorder, AuditChainStore)
        result = program.verify_audit_trail()
        assert result.ok
        assert result.tamper_evident
        assert result.broken_at is None
        assert result.checked == len(store.positions())
        assert result.head_position == store.positions()[-1]
        seal = program.seal_audit_trail()
        assert (seal.position, seal.hash) == (result.head_position, result.head_hash)
        with program.acting_as("cio@example.com"):
            program.register_department("OPS", name="Operations")
        later = program.verify_audit_trail(seal=seal.to_json())
        assert later.ok
        assert later.seal_checked


def test_a_changed_payload_is_caught_at_its_position(store: Store) -> None:
    with store.open() as program:
        story(program)
    target = store.positions()[4]
    store.execute(
        f"UPDATE {store.events} SET state = %s WHERE {store.id_column} = %s",
        (b'{"actor":"mallory"}', target),
    )
    with store.open() as program:
        result = program.verify_audit_trail()
    assert not result.ok
    assert result.broken_at == target
    assert result.checked == 4
    assert "does not match its chain entry" in result.reason


def test_a_deleted_event_is_caught_at_its_position(store: Store) -> None:
    with store.open() as program:
        story(program)
    target = store.positions()[6]
    store.execute(f"DELETE FROM {store.events} WHERE {store.id_column} = %s", (target,))
    with store.open() as program:
        result = program.verify_audit_trail()
    assert (result.ok, result.broken_at) == (False, target)
    assert "was removed" in result.reason


def test_an_event_and_its_chain_entry_deleted_together_are_caught_at_the_next_position(
    store: Store,
) -> None:
    with store.open() as program:
        story(program)
    positions = store.positions()
    store.execute(f"DELETE FROM {store.events} WHERE {store.id_column} = %s", (positions[6],))
    store.execute(f"DELETE FROM {store.chain} WHERE position = %s", (positions[6],))
    with store.open() as program:
        result = program.verify_audit_trail()
    assert (result.ok, result.broken_at) == (False, positions[7])


def test_an_inserted_event_is_caught_at_its_position(store: Store) -> None:
    with store.open() as program:
        story(program)
        head = program.verify_audit_trail().head_position
    forged = uuid4()
    originator = forged.hex if store.url.startswith("sqlite") else str(forged)
    store.execute(
        f"INSERT INTO {store.events} (originator_id, originator_version, topic, state) "
        "VALUES (%s, 1, 'rotation_domain:DepartmentRegistered', %s)",
        (originator, b'{"actor":"mallory","code":"X","is_it":false,"name":"X"}'),
    )
    with store.open() as program:
        result = program.verify_audit_trail()
    assert not result.ok
    assert result.broken_at is not None
    assert result.broken_at > head
    assert "has no chain entry" in result.reason


def test_two_swapped_events_are_caught_at_the_first_of_them(store: Store) -> None:
    with store.open() as program:
        story(program)
    positions = store.positions()
    store.swap(positions[3], positions[8])
    with store.open() as program:
        result = program.verify_audit_trail()
    assert (result.ok, result.broken_at) == (False, positions[3])


def test_a_cut_tail_passes_the_chain_alone_but_not_a_seal_taken_before(
    store: Store,
) -> None:
    with store.open() as program:
        story(program)
        seal = program.seal_audit_trail()
    positions = store.positions()
    cut = positions[-3:]
    for position in cut:
        store.execute(f"DELETE FROM {store.events} WHERE {store.id_column} = %s", (position,))
        store.execute(f"DELETE FROM {store.chain} WHERE position = %s", (position,))
    with store.open() as program:
        alone = program.verify_audit_trail()
        assert alone.ok, "a cut tail leaves a valid, shorter chain: only a seal shows the cut"
        sealed = program.verify_audit_trail(seal=seal)
        assert (sealed.ok, sealed.broken_at) == (False, seal.position)
        assert "events were removed after the seal" in sealed.reason


def test_a_cut_of_the_events_alone_is_caught_without_a_seal(store: Store) -> None:
    with store.open() as program:
        story(program)
    last = store.positions()[-1]
    store.execute(f"DELETE FROM {store.events} WHERE {store.id_column} = %s", (last,))
    with store.open() as program:
        result = program.verify_audit_trail()
        assert (result.ok, result.broken_at) == (False, last)
        if store.url.startswith("sqlite"):
            # SQLite would hand the cut position out again: the recorder refuses to extend
            # a log whose chain runs past it.
            with pytest.raises(AuditChainError), program.acting_as("cio@example.com"):
                program.register_department("OPS", name="Operations")


def test_a_rewritten_chain_passes_alone_but_not_against_a_seal(store: Store) -> None:
    with store.open() as program:
        story(program)
        seal = program.seal_audit_trail()
    positions = store.positions()
    store.execute(
        f"UPDATE {store.events} SET state = %s WHERE {store.id_column} = %s",
        (b'{"actor":"mallory","code":"IT","is_it":true,"name":"Forged"}', positions[0]),
    )
    store.execute(f"DELETE FROM {store.chain}", ())
    with store.open() as program:  # a store without a chain has it built again on open
        assert program.verify_audit_trail().ok
        result = program.verify_audit_trail(seal=seal)
    assert (result.ok, result.broken_at) == (False, seal.position)
    assert "is not the one sealed" in result.reason


def test_a_store_written_before_the_chain_existed_is_chained_when_first_opened(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    settings = dict(settings_for_url(url))
    settings["APPLICATION_RECORDER_TOPIC"] = (
        "adapters.sqlite_subscription:PollingSQLiteApplicationRecorder"
    )
    with open_program(url, today=lambda: TODAY, settings=settings) as program:
        story(program)
        assert not program.verify_audit_trail().tamper_evident
    with open_program(url, today=lambda: TODAY) as program:
        result = program.verify_audit_trail()
        assert result.ok
        assert result.checked == program.app.recorder.max_notification_id()
        with program.acting_as("cio@example.com"):
            program.register_department("OPS", name="Operations")
        assert program.verify_audit_trail().checked == result.checked + 1


def test_the_chain_follows_a_history_query_by_index(store: Store) -> None:
    with store.open() as program:
        rotation = story(program)
        assert isinstance(program.app.recorder, AggregateLog)
        names = [entry.event_type for entry in program.history(rotation)]
    assert names == ["RotationPlanned", "MentorshipLinked", "RotationStarted"]


def test_a_seal_document_reads_back(store: Store) -> None:
    with store.open() as program:
        story(program)
        seal = program.seal_audit_trail()
    assert AuditSeal.from_json(seal.to_json()) == seal


# eventsourcing's own recorder test cases, run against the chained recorders, with
# the chain verified after each test (the concurrency tests included).


class ChainCheckingMixin(TestCase):
    chained: list[AuditChainStore]

    def setUp(self) -> None:
        super().setUp()
        self.chained = []
        self._threads_before = set(threading.enumerate())

    def check_chains(self, *, join_threads: bool = False) -> None:
        if join_threads:
            # eventsourcing's concurrency test leaves its reader threads running.
            for thread in set(threading.enumerate()) - self._threads_before:
                thread.join(timeout=10)
        for recorder in self.chained:
            result = verify_chain(recorder.audit_chain_rows())
            assert result.ok, result


class TestChainedSQLiteApplicationRecorder(
    ChainCheckingMixin,
    es_persistence_tests.ApplicationRecorderTestCase[ChainedSQLiteApplicationRecorder],
):
    def setUp(self) -> None:
        super().setUp()
        tmpdir = tempfile.TemporaryDirectory(prefix="audit_chain_")
        self.addCleanup(tmpdir.cleanup)
        self.db_name = str(Path(tmpdir.name) / "events.db")
        self.datastores: list[SQLiteDatastore] = []
        self.addCleanup(self.close)

    def close(self) -> None:
        self.check_chains(join_threads=True)
        for datastore in self.datastores:
            datastore.close()

    def create_recorder(self) -> ChainedSQLiteApplicationRecorder:
        datastore = SQLiteDatastore(db_name=self.db_name, pool_size=100)
        self.datastores.append(datastore)
        recorder = ChainedSQLiteApplicationRecorder(datastore)
        recorder.create_table()
        self.chained.append(recorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


@pytest.mark.postgres
class TestChainedPostgresApplicationRecorder(
    ChainCheckingMixin,
    es_persistence_tests.ApplicationRecorderTestCase[ChainedPostgresApplicationRecorder],
):
    def setUp(self) -> None:
        super().setUp()
        try:
            with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
                self.schema = f"t_{uuid.uuid4().hex[:12]}"
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
        except psycopg.OperationalError as error:
            if os.environ.get("CI"):
                raise
            self.skipTest(f"no PostgreSQL server at {POSTGRES_URL}: {error}")
        self.datastores: list[PostgresDatastore] = []
        self.addCleanup(self.close)

    def close(self) -> None:
        self.check_chains()
        for datastore in self.datastores:
            datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')

    def create_recorder(self) -> ChainedPostgresApplicationRecorder:
        datastore = PostgresDatastore(
            "test", "127.0.0.1", "5432", "postgres", "", pool_size=4, schema=self.schema
        )
        self.datastores.append(datastore)
        recorder = ChainedPostgresApplicationRecorder(datastore)
        recorder.create_table()
        self.chained.append(recorder)
        return recorder


def test_each_insert_adds_its_chain_entries_in_the_same_transaction(tmp_path: Path) -> None:
    datastore = SQLiteDatastore(db_name=str(tmp_path / "tx.db"))
    try:
        recorder = ChainedSQLiteApplicationRecorder(datastore)
        recorder.create_table()
        originator = uuid.uuid4()
        first = StoredEvent(originator, 1, "topic", b"{}")
        recorder.insert_events([first, StoredEvent(originator, 2, "topic", b"{}")])
        with pytest.raises(Exception, match=r"UNIQUE|unique|Integrity"):
            recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"{}"), first])
        head = recorder.audit_chain_head()
        assert head is not None
        assert head[0] == 2, "a failed insert leaves no chain entry"
        assert verify_chain(recorder.audit_chain_rows()).ok
    finally:
        datastore.close()


def _event(version: int = 1) -> StoredEvent:
    return StoredEvent(uuid.uuid4(), version, "topic", f'{{"v": {version}}}'.encode())


def test_a_recorder_reads_the_head_only_when_another_may_have_moved_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datastore = SQLiteDatastore(db_name=str(tmp_path / "head.db"))
    try:
        ours = ChainedSQLiteApplicationRecorder(datastore)
        ours.create_table()
        other = ChainedSQLiteApplicationRecorder(datastore)  # as another process would
        reads: list[int] = []
        read_head = ours._read_head
        monkeypatch.setattr(ours, "_read_head", lambda c: reads.append(1) or read_head(c))

        ours.insert_events([_event()])
        ours.insert_events([_event(), _event()])
        ours.insert_events([_event()])
        assert len(reads) == 1, "the head it committed last is the head"
        other.insert_events([_event()])
        ours.insert_events([_event()])
        assert len(reads) == 2, "another recorder wrote in between: the head is read again"
        with pytest.raises(Exception, match=r"UNIQUE|unique|Integrity"):
            ours.insert_events([_event(), StoredEvent(uuid.uuid4(), 1, "t", b"{}")] * 2)
        ours.insert_events([_event()])

        result = verify_chain(ours.audit_chain_rows())
        assert result.ok
        assert (result.checked, result.head_position) == (7, 7)
    finally:
        datastore.close()


def test_a_chain_entry_planted_past_the_log_is_refused_even_with_the_head_known(
    tmp_path: Path,
) -> None:
    path = tmp_path / "planted.db"
    datastore = SQLiteDatastore(db_name=str(path))
    try:
        recorder = ChainedSQLiteApplicationRecorder(datastore)
        recorder.create_table()
        recorder.insert_events([_event(), _event()])
        with sqlite3.connect(path) as conn:
            conn.execute(
                f"INSERT INTO {recorder.chain_table_name} (position, hash) VALUES (3, ?)",
                (b"x" * 32,),
            )
        with pytest.raises(AuditChainError, match="position 3"):
            recorder.insert_events([_event()])
        assert recorder.max_notification_id() == 2, "nothing was recorded"
    finally:
        datastore.close()


# PostgreSQL inserts and chains the events in one function call (adapters.audit_chain_postgres).


@pytest.fixture(params=["uuid", "text"])
def postgres_recorder(
    request: pytest.FixtureRequest,
) -> Iterator[ChainedPostgresApplicationRecorder]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}: {error}")
    datastore = PostgresDatastore(
        "test",
        "127.0.0.1",
        "5432",
        "postgres",
        "",
        schema=schema,
        originator_id_type=request.param,
    )
    try:
        recorder = ChainedPostgresApplicationRecorder(datastore)
        recorder.create_table()
        yield recorder
    finally:
        datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _raw(recorder: ChainedPostgresApplicationRecorder, statement: str) -> list[Any]:
    schema = recorder.datastore.schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        cursor = conn.execute(statement.encode())
        return cursor.fetchall() if cursor.description else []


@pytest.mark.postgres
def test_the_server_chains_what_the_python_verifier_expects(
    postgres_recorder: ChainedPostgresApplicationRecorder,
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    ids = postgres_recorder.insert_events(
        [
            StoredEvent(first, 1, "rotation_domain:RotationPlanned", b'{"a":"\xc3\xa9"}'),
            StoredEvent(first, 2, "rotation_domain:Ünïcode", b""),
            StoredEvent(second, 1, "t", bytes(range(256))),
        ]
    )
    more = postgres_recorder.insert_events([StoredEvent(second, 2, "t", b"{}")])
    assert [*(ids or []), *(more or [])] == [1, 2, 3, 4]
    result = verify_chain(postgres_recorder.audit_chain_rows())
    assert result.ok, result
    # The events went to the server in binary: they come back byte for byte.
    read = [
        (str(n.originator_id).replace("-", ""), n.originator_version, n.topic, n.state)
        for n in postgres_recorder.select_notifications(start=1, limit=10)
    ]
    assert read == [
        (first.hex, 1, "rotation_domain:RotationPlanned", b'{"a":"\xc3\xa9"}'),
        (first.hex, 2, "rotation_domain:Ünïcode", b""),
        (second.hex, 1, "t", bytes(range(256))),
        (second.hex, 2, "t", b"{}"),
    ]


@pytest.mark.postgres
def test_a_failed_insert_on_postgres_leaves_no_event_and_no_chain_entry(
    postgres_recorder: ChainedPostgresApplicationRecorder,
) -> None:
    originator = uuid.uuid4()
    first = StoredEvent(originator, 1, "topic", b"{}")
    postgres_recorder.insert_events([first, StoredEvent(originator, 2, "topic", b"{}")])
    with pytest.raises(IntegrityError):
        postgres_recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"{}"), first])
    assert postgres_recorder.audit_chain_head() is not None
    assert [row[0] for row in _raw(postgres_recorder, "SELECT count(*) FROM stored_events")] == [2]
    assert verify_chain(postgres_recorder.audit_chain_rows()).ok


@pytest.mark.postgres
def test_a_save_expecting_another_head_records_nothing_on_postgres(
    postgres_recorder: ChainedPostgresApplicationRecorder,
) -> None:
    postgres_recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"{}")])
    with pytest.raises(HeadMoved, match="position 1, not 0"):
        postgres_recorder.insert_events(
            [StoredEvent(uuid.uuid4(), 1, "t", b"{}")], **{EXPECTED_HEAD: 0}
        )
    assert postgres_recorder.insert_events(
        [StoredEvent(uuid.uuid4(), 1, "t", b"{}")], **{EXPECTED_HEAD: 1}
    ) == [2]  # refused before inserting: no position was taken
    assert verify_chain(postgres_recorder.audit_chain_rows()).ok


@pytest.mark.postgres
def test_a_chain_running_past_the_log_refuses_the_next_insert_on_postgres(
    postgres_recorder: ChainedPostgresApplicationRecorder,
) -> None:
    postgres_recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"{}")])
    _raw(postgres_recorder, "INSERT INTO stored_events_audit_chain VALUES (5, '\\x00')")
    with pytest.raises(AuditChainError, match="5"):
        postgres_recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"{}")])
    assert [row[0] for row in _raw(postgres_recorder, "SELECT count(*) FROM stored_events")] == [1]
