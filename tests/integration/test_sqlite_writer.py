"""Inserts on the SQLite recorder's own connection (`adapters.sqlite_writer`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from adapters.audit_chain import ChainedSQLiteApplicationRecorder
from adapters.sqlite_subscription import PollingSQLiteApplicationRecorder
from adapters.sqlite_writer import SQLiteWriter
from rotation_domain import open_program
from rotation_domain.audit import verify_chain
from rotation_domain.employee import Employee


@pytest.fixture
def datastore(tmp_path: Path) -> Iterator[SQLiteDatastore]:
    store = SQLiteDatastore(str(tmp_path / "events.db"))
    yield store
    store.close()


def _event(version: int = 1, originator: object = None) -> StoredEvent:
    return StoredEvent(
        originator_id=originator or uuid4(), originator_version=version, topic="t:T", state=b"{}"
    )


def _rows(datastore: SQLiteDatastore) -> int:
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT COUNT(*) FROM stored_events")
        return int(cursor.fetchone()[0])


def test_inserts_commit_on_the_writers_connection_and_readers_see_them(
    datastore: SQLiteDatastore,
) -> None:
    recorder = PollingSQLiteApplicationRecorder(datastore)
    recorder.create_table()
    ids = recorder.insert_events([_event(), _event()])
    assert ids is not None
    assert len(ids) == 2
    assert recorder._writer.usable
    assert recorder._writer._connection is not None  # the insert ran there, not on the pool
    with datastore.get_connection(commit=False) as pooled:
        assert pooled._sqlite_conn is not recorder._writer._connection._sqlite_conn
    assert _rows(datastore) == 2
    assert [n.id for n in recorder.select_notifications(start=1, limit=10)] == list(ids)


def test_a_version_already_taken_is_eventsourcings_integrity_error_and_records_nothing(
    datastore: SQLiteDatastore,
) -> None:
    recorder = ChainedSQLiteApplicationRecorder(datastore)
    recorder.create_table()
    originator = uuid4()
    recorder.insert_events([_event(1, originator)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([_event(1, uuid4()), _event(1, originator)])
    assert _rows(datastore) == 1  # the first event of the failed batch was rolled back
    recorder.insert_events([_event(2, originator)])  # the connection is usable again
    assert _rows(datastore) == 2


def test_a_failing_transaction_is_rolled_back_and_its_error_mapped(
    datastore: SQLiteDatastore,
) -> None:
    PollingSQLiteApplicationRecorder(datastore).create_table()
    writer = SQLiteWriter(datastore.pool)

    def insert_then_fail(cursor: object) -> None:
        cursor.execute(  # type: ignore[attr-defined]
            "INSERT INTO stored_events VALUES (?, ?, ?, ?)", (uuid4().hex, 1, "t:T", b"{}")
        )
        cursor.execute("SELECT * FROM no_such_table")  # type: ignore[attr-defined]

    with pytest.raises(OperationalError, match="no_such_table"):
        writer.run(insert_then_fail)
    assert _rows(datastore) == 0
    writer.close()


def test_a_memory_database_and_a_closed_writer_insert_through_the_pool(
    datastore: SQLiteDatastore,
) -> None:
    memory = SQLiteDatastore(":memory:")
    try:
        recorder = PollingSQLiteApplicationRecorder(memory)
        recorder.create_table()
        assert not recorder._writer.usable
        recorder.insert_events([_event()])
        assert recorder._writer._connection is None
        assert len(recorder.select_notifications(start=1, limit=10)) == 1
    finally:
        memory.close()

    recorder = PollingSQLiteApplicationRecorder(datastore)
    recorder.create_table()
    recorder.insert_events([_event()])
    recorder.close_writer()
    assert not recorder._writer.usable
    recorder.insert_events([_event()])
    assert _rows(datastore) == 2


def test_a_closed_pool_stops_the_writer(datastore: SQLiteDatastore) -> None:
    recorder = PollingSQLiteApplicationRecorder(datastore)
    recorder.create_table()
    recorder.insert_events([_event()])
    datastore.close()
    assert not recorder._writer.usable


def test_threads_and_a_second_recorder_writing_at_once_keep_one_valid_chain(
    datastore: SQLiteDatastore, tmp_path: Path
) -> None:
    first = ChainedSQLiteApplicationRecorder(datastore)
    first.create_table()
    other_store = SQLiteDatastore(str(tmp_path / "events.db"), lock_timeout=10)
    second = ChainedSQLiteApplicationRecorder(other_store)
    errors: list[BaseException] = []

    def write(recorder: ChainedSQLiteApplicationRecorder) -> None:
        try:
            for _ in range(50):
                recorder.insert_events([_event(), _event()])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(r,)) for r in (first, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_store.close()
    assert errors == []
    assert _rows(datastore) == 300
    assert verify_chain(first.audit_chain_rows()).ok


def test_reads_on_the_command_path_share_the_writers_connection_while_it_is_open(
    datastore: SQLiteDatastore,
) -> None:
    recorder = PollingSQLiteApplicationRecorder(datastore)
    recorder.create_table()
    recorder.insert_events([_event()])
    with recorder.read_connection() as connection:
        assert connection is recorder._writer._connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM stored_events")
            assert cursor.fetchone()[0] == 1
    recorder.close_writer()
    with recorder.read_connection() as connection:  # from the pool from now on
        assert connection is not None
        assert recorder._writer._connection is None


def test_a_program_loads_aggregates_through_the_recorders_read_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = open_program(f"sqlite:///{tmp_path / 'program.db'}")
    try:
        with program.acting_as("cio@example.com"):
            program.register_department("IT", name="IT", is_it=True)
            program.register_employee("E1", name="Ada", email="ada@example.com", department="IT")
        recorder = program.app.recorder
        opened: list[object] = []
        real = recorder.read_connection

        def spying() -> object:
            opened.append(True)
            return real()

        monkeypatch.setattr(recorder, "read_connection", spying)
        program.app.repository.cache.get(Employee.id_for("E1"), evict=True)
        assert program.app.repository.get(Employee.id_for("E1")).code == "E1"
        assert opened
    finally:
        program.close()
