"""Statements rendered once (`adapters.postgres_sql`) are the text psycopg sends.

On a real server (skipped with the reason when none answers, failed under ``CI``): the
text rendered without a connection equals what psycopg renders with one, so a prepared
statement is found under it, and the program's recorder sends them.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg.sql import SQL, Identifier, Literal
from tests.conftest import POSTGRES_URL, _libpq, require_postgres

from adapters.postgres_sql import rendered
from rotation_domain import open_program

pytestmark = pytest.mark.postgres

STATEMENTS = [
    SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(
        Identifier("public"), Identifier('odd "name" é')
    ),
    SQL("SET LOCAL lock_timeout = '{0}s'").format(5),
    SQL("NOTIFY {0}").format(Identifier("stored_events")),
    SQL("SELECT {0} = %s").format(Literal("it's")),
    SQL("SELECT data_key FROM {} WHERE subject_id = %s").format(Identifier("s1", "keys")),
]


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s.as_string(None)[:30])
def test_a_statement_renders_to_the_text_psycopg_sends_on_a_connection(statement: SQL) -> None:
    require_postgres()
    with psycopg.connect(_libpq(POSTGRES_URL)) as conn:
        assert rendered(statement) == statement.as_bytes(conn)


def test_text_and_bytes_are_kept_as_they_are() -> None:
    assert rendered("SELECT 1") == b"SELECT 1"
    assert rendered(b"SELECT 2") == b"SELECT 2"


def test_the_recorder_sends_its_insert_statements_rendered(postgres_schema_url: str) -> None:
    with open_program(postgres_schema_url) as program:
        recorder = program.app.recorder
        # An insert sends one statement (the function locks the table and notifies).
        assert isinstance(recorder._call_insert, bytes)
        with program.acting_as("cio@example.com"):
            program.register_department("FIN", name="Finance")
        assert recorder.max_notification_id() == 1  # recorded through the rendered statements
