"""Fixtures: rotation-domain's plugin toolkit, a real SCIM server on loopback, and stores.

`scim` is a `hris_testserver.ScimServer`: scim2-server serving a few hundred Users and a
Group per department over HTTP on 127.0.0.1 with a bearer token, paging every read.
Test modules import the helper by name: this directory is put on ``sys.path``.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hris_testserver import POSTGRES_URL, ScimServer

pytest_plugins = ["rotation_domain.testing"]


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    server = ScimServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback address that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v2"
    finally:
        listener.close()


# ---------------------------------------------------------------- stores


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the test extra installs it
        return "psycopg is not installed"
    try:
        with psycopg.connect(POSTGRES_URL.split("?", 1)[0], connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return f"no PostgreSQL server at {POSTGRES_URL}: {str(error).strip()}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL store on a fresh schema (skipped when unreachable, failed under CI)."""
    reason = _postgres_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and PostgreSQL is required: {reason}")
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    libpq = POSTGRES_URL.split("?", 1)[0]
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory:"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rotation.db'}"
    return str(request.getfixturevalue("postgres_url"))
