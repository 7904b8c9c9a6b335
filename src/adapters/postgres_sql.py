"""PostgreSQL statements rendered to their text once, not at every execute.

psycopg renders a composed statement (`psycopg.sql.Composed`: identifiers quoted,
literals adapted) again each time it is executed. The statements a command sends (the
table lock, the ``NOTIFY``, the insert function's call, an aggregate's load) never change
for a store, so the recorders and stores render them once and execute the bytes. The
bytes are what psycopg would send, so a prepared statement is found under the same text.
"""

from __future__ import annotations

from psycopg.abc import Query
from psycopg.sql import Composable

__all__ = ["rendered"]


def rendered(statement: Query) -> bytes:
    """The statement's text as psycopg sends it (UTF-8; identifiers quoted as libpq does).

    Raises:
        TypeError: ``statement`` is a template string, which psycopg renders with its
            values at each execute.
    """
    if isinstance(statement, Composable):
        return statement.as_bytes(None)
    if isinstance(statement, bytes):
        return statement
    if isinstance(statement, str):
        return statement.encode()
    raise TypeError(f"a statement to render once must not be a template: {statement!r}")
