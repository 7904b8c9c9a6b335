"""The consumer stores (memory, SQLite, PostgreSQL) against one contract, and their factory.

`ConsumerStoreContract` lives in ``rotation_domain.store_contract`` so that the authors
of future stores can subclass it in their own tests. Every store is
opened through `consumer_store_for`, from the settings of a store URL, as the program
opens it. PostgreSQL tests use a fresh schema each (``postgres_schema_url``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adapters.consumer_store_memory import MemoryConsumerStore
from adapters.consumer_store_sqlite import SQLiteConsumerStore
from adapters.consumer_stores import consumer_store_for, prefix_end
from adapters.store_urls import settings_for_url
from rotation_domain import RotationProgram, open_program
from rotation_domain.consumers import ConsumerStore
from rotation_domain.store_contract import ConsumerStoreContract

TABLES = {"rotation_consumer_positions", "rotation_view_rows", "rotation_deliveries"}


def store_for(url: str) -> ConsumerStore:
    return consumer_store_for(settings_for_url(url))


class TestMemoryConsumerStore(ConsumerStoreContract):
    @pytest.fixture
    def store_target(self) -> ConsumerStore:
        return store_for("memory:")

    def make_store(self) -> ConsumerStore:
        store: ConsumerStore = self.target
        return store


class TestSQLiteConsumerStore(ConsumerStoreContract):
    @pytest.fixture
    def store_target(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'rotation.db'}"

    def make_store(self) -> ConsumerStore:
        return store_for(self.target)


@pytest.mark.postgres
class TestPostgresConsumerStore(ConsumerStoreContract):
    @pytest.fixture
    def store_target(self, postgres_schema_url: str) -> str:
        return postgres_schema_url

    def make_store(self) -> ConsumerStore:
        return store_for(self.target)


def test_the_factory_chooses_by_persistence_module(tmp_path: Path) -> None:
    memory = store_for("memory:")
    assert isinstance(memory, MemoryConsumerStore)
    memory.close()
    assert isinstance(consumer_store_for({}), MemoryConsumerStore)
    sqlite_store = store_for(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        assert isinstance(sqlite_store, SQLiteConsumerStore)
    finally:
        sqlite_store.close()


def test_the_factory_refuses_unknown_modules() -> None:
    with pytest.raises(ValueError, match="no consumer store"):
        consumer_store_for({"PERSISTENCE_MODULE": "eventsourcing.dynamodb"})


@pytest.mark.parametrize("path", [":memory:", "file::memory:?cache=shared", ""])
def test_an_in_memory_sqlite_database_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="needs a SQLite database file"):
        SQLiteConsumerStore(path)


def test_sqlite_memory_url_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a SQLite database file"):
        store_for("sqlite:///:memory:")


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("", None),
        ("a", "b"),
        ("a%", "a&"),
        ("a\ud7ff", "a\ue000"),
        ("a\U0010ffff", "b"),
        ("\U0010ffff\U0010ffff", None),
    ],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


def _share_the_database(url: str, seed: Any) -> tuple[int, ConsumerStore]:
    with open_program(url) as program:
        assert isinstance(program, RotationProgram)
        seed(program)
        recorded = program.app.recorder.max_notification_id() or 0
        store = store_for(url)
        store.commit_view("v", 1, {"v": {"k": {"n": recorded}}}, expected=0, position=recorded)
        with program.acting_as("cio@example.com"):
            program.register_department("NEW", name="New")
    return recorded, store


def test_sqlite_views_live_in_the_events_file(tmp_path: Path, seed: Any) -> None:
    path = tmp_path / "rotation.db"
    recorded, store = _share_the_database(f"sqlite:///{path}", seed)
    store.close()
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        (position,) = conn.execute(
            "SELECT position FROM rotation_consumer_positions WHERE consumer = 'v'"
        ).fetchone()
    conn.close()
    assert names >= TABLES | {"stored_events"}
    assert position == recorded > 0


@pytest.mark.postgres
def test_postgres_views_live_in_the_events_schema(postgres_schema_url: str, seed: Any) -> None:
    import psycopg

    recorded, store = _share_the_database(postgres_schema_url, seed)
    store.close()
    url, schema = postgres_schema_url.split("?schema=")
    with psycopg.connect(url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        }
        (position,) = conn.execute(
            f'SELECT position FROM "{schema}".rotation_consumer_positions WHERE consumer = %s',
            ("v",),
        ).fetchone()
    assert tables >= TABLES
    assert len(tables) > len(TABLES)  # the events' tables too
    assert position == recorded > 0


def test_sqlite_bulk_writes_checkpoint_once_and_restore_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "rotation.db"
    store = SQLiteConsumerStore(str(path))
    conn: sqlite3.Connection = store._conn
    settings = ("cache_size", "wal_autocheckpoint")
    before = {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in settings}
    wal = Path(f"{path}-wal")
    big = {f"k{n:05d}": {"text": "x" * 400} for n in range(20_000)}  # about 2,500 pages
    try:
        with store.bulk_writes():
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            assert conn.execute("PRAGMA cache_size").fetchone()[0] == -65_536
            store.commit_view("v", 1, {"v": big}, expected=0, position=1)
            # No checkpoint ran: the rows are in the write-ahead log, not in the file yet.
            assert wal.stat().st_size > 2_000 * 4096
            assert path.stat().st_size < 1_000 * 4096
        after = {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in settings}
        assert after == before
        # The block's end copied the log into the database file.
        assert path.stat().st_size > 2_000 * 4096
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT count(*) FROM rotation_view_rows").fetchone() == (20_000,)
    finally:
        store.close()
