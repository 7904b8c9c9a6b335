"""Fresh, throw-away stores: a SQLite file each, or a PostgreSQL schema each."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from adapters.store_urls import settings_for_url

__all__ = [
    "FreshStore",
    "PostgresStores",
    "SQLiteStores",
    "StoreKind",
    "postgres_server_version",
]


@dataclass(frozen=True)
class FreshStore:
    """An empty store: its URL for `open_program()` and the settings of a bare Application."""

    url: str
    baseline_env: dict[str, str]


class StoreKind(Protocol):
    """Makes empty stores of one kind."""

    name: str

    def fresh(self, label: str) -> contextlib.AbstractContextManager[FreshStore]:
        """An empty store, removed when the block ends."""
        ...

    def close(self) -> None:
        """Remove whatever the kind still holds."""
        ...


class SQLiteStores:
    """A new SQLite file per store, in a temporary directory removed at the end."""

    name = "sqlite"

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="rotation-bench-"))

    @contextlib.contextmanager
    def fresh(self, label: str) -> Iterator[FreshStore]:
        path = self._dir / f"{label}-{uuid.uuid4().hex[:8]}.db"
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
        try:
            yield FreshStore(url=f"sqlite:///{path}", baseline_env=env)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _libpq(url: str) -> str:
    return url.split("?", 1)[0]


def postgres_server_version(url: str) -> tuple[str | None, str | None]:
    """The server's version, or None and the reason it cannot be used."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as error:
        return None, f"no PostgreSQL server at {url}: {str(error).strip()}"
    return (str(row[0]) if row else "unknown"), None


class PostgresStores:
    """A new schema per store in the database of ``url``, dropped at the end of its block."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        self._url = _libpq(url)

    def _schema_ddl(self, verb: str, schema: str) -> None:
        import psycopg
        from psycopg import sql

        statement = sql.SQL(verb).format(sql.Identifier(schema))
        with psycopg.connect(self._url, autocommit=True) as conn:
            conn.execute(statement)

    @contextlib.contextmanager
    def fresh(self, label: str) -> Iterator[FreshStore]:
        # eventsourcing names types after the schema unquoted: keep it a plain identifier.
        safe = "".join(c if c.isalnum() else "_" for c in label.lower())
        schema = f"bench_{safe}_{uuid.uuid4().hex[:10]}"
        self._schema_ddl("CREATE SCHEMA {}", schema)
        url = f"{self._url}?schema={schema}"
        env = {k: v for k, v in settings_for_url(url).items() if k.startswith("POSTGRES_")}
        env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
        try:
            yield FreshStore(url=url, baseline_env=env)
        finally:
            self._schema_ddl("DROP SCHEMA {} CASCADE", schema)

    def close(self) -> None:
        """Nothing to do: each schema is dropped when its block ends."""
