"""New PostgreSQL connections run a cold load's statements before the pool hands them out.

On a real server (skipped with the reason when none answers, failed under ``CI``).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from psycopg.rows import tuple_row
from psycopg.sql import SQL
from tests.conftest import POSTGRES_URL, _libpq

from adapters import postgres_warmup
from adapters.postgres_warmup import (
    NO_ID,
    WarmUp,
    cold_load_warm_ups,
    fast_forward_statement,
    qualified,
    warm_new_connections,
    warm_up,
)
from rotation_domain import RotationProgram, open_program
from rotation_domain.program import PROGRAM_ID

pytestmark = pytest.mark.postgres

CIO = "cio@example.com"


@pytest.fixture
def used_store(postgres_schema_url: str) -> str:
    """A PostgreSQL store whose tables exist and whose Program has events."""
    with open_program(postgres_schema_url) as program, program.acting_as(CIO):
        program.set_policy(max_concurrent=4)
    return postgres_schema_url


def _schema(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def _prepared(program: RotationProgram) -> list[str]:
    """The statements prepared on each connection the program's pool holds now."""
    pool: Any = program.app.recorder.datastore.pool
    held = [pool.getconn() for _ in range(pool.get_stats()["pool_size"])]
    try:
        return [
            row[0]
            for conn in held
            for row in conn.cursor(row_factory=tuple_row).execute(
                "SELECT statement FROM pg_prepared_statements"
            )
        ]
    finally:
        for conn in held:
            pool.putconn(conn)


def test_a_new_programs_connections_have_run_the_load_statements(used_store: str) -> None:
    with open_program(used_store) as program:
        program.app.recorder.max_notification_id()
        pool: Any = program.app.recorder.datastore.pool
        pool.wait(timeout=10)  # every connection the pool opens at first is open
        prepared = _prepared(program)
        snapshots_and_events = [text for text in prepared if "WITH snap AS" in text]
        fast_forward = [text for text in prepared if "originator_version >" in text]
        # Each connection: the load with and without the key row, and the fast-forward.
        connections = pool.get_stats()["pool_size"]
        assert connections >= 2
        assert len(snapshots_and_events) == 2 * connections
        assert len(fast_forward) >= connections
        # The loads find their prepared statements: none is added on the connections used.
        program.get(PROGRAM_ID)
        program.app.repository.cache.get(PROGRAM_ID, evict=True)
        program.get(PROGRAM_ID)
        assert len([t for t in _prepared(program) if "WITH snap AS" in t]) == 2 * connections


def test_the_fast_forward_statement_is_the_one_eventsourcing_sends(used_store: str) -> None:
    with open_program(used_store) as program:
        recorder: Any = program.app.recorder
        theirs = (
            recorder.select_events_statement
            + SQL(" AND originator_version > %s")
            + SQL(" ORDER BY originator_version")
            + SQL(" ASC")
        )
        ours = fast_forward_statement(recorder.datastore.schema, recorder.events_table_name)
        with psycopg.connect(_libpq(POSTGRES_URL)) as conn:
            assert ours.as_string(conn) == theirs.as_string(conn)


def test_a_store_without_tables_is_skipped_and_the_connection_stays_usable(
    postgres_schema_url: str,
) -> None:
    schema = _schema(postgres_schema_url)
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
        assert warm_up(conn, cold_load_warm_ups(schema, "rotationprogram_events")) == 0
        assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_failing_statement_is_skipped_and_the_rest_still_run(used_store: str) -> None:
    schema = _schema(used_store)
    events = qualified(schema, "rotationprogram_events")
    broken = WarmUp(SQL("SELECT no_such_column FROM {}").format(SQL(events)), (), (events,))
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
        good = cold_load_warm_ups(schema, "rotationprogram_events")
        assert warm_up(conn, [broken, *good]) == len(good)
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.fixture
def raising_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(connection: Any, warm_ups: Any) -> int:
        raise RuntimeError("warm-up broke")

    monkeypatch.setattr(postgres_warmup, "warm_up", boom)


@pytest.mark.usefixtures("raising_warm_up")
def test_a_warm_up_that_raises_never_costs_a_connection(
    used_store: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="adapters.postgres_warmup"),
        open_program(used_store) as program,
    ):
        assert program.get(PROGRAM_ID).version >= 1
    assert "warming up a new connection failed" in caplog.text


def test_nothing_is_installed_on_a_pool_already_open(used_store: str) -> None:
    with open_program(used_store) as program:
        datastore: Any = program.app.recorder.datastore
        before = datastore.pool._configure
        assert warm_new_connections(datastore, []) is False
        assert datastore.pool._configure is before


def test_the_warm_up_ids_belong_to_no_aggregate(used_store: str) -> None:
    with open_program(used_store) as program:
        assert list(program.app.recorder.select_events(NO_ID)) == []
