"""Shared fixtures: programs on each store, a fixed clock, and a small seeded company.

``store_url`` is parametrised over memory, a SQLite file and PostgreSQL. PostgreSQL
tests use a fresh schema each and are skipped, with the reason shown, when no server
answers at ``ROTATION_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
unless ``CI`` is set, in which case an unreachable server fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rotation_domain import RotationProgram, open_program

POSTGRES_URL = os.environ.get("ROTATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TODAY = date(2027, 1, 1)


def postgres_available() -> str | None:
    """None when the test server answers, else the reason it does not."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the test extra installs it
        return "psycopg is not installed"
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return f"no PostgreSQL server at {POSTGRES_URL}: {str(error).strip()}"


def _libpq(url: str) -> str:
    return url.split("?", 1)[0]


def require_postgres() -> None:
    """Skip (or fail under CI) when PostgreSQL is not reachable."""
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and PostgreSQL is required: {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL store URL on a fresh schema, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store of each kind."""
    if request.param == "memory":
        return "memory:"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rotation.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def program() -> Iterator[RotationProgram]:
    """An empty in-memory program whose clock says 2027-01-01."""
    with open_program("memory:", today=lambda: TODAY) as opened:
        yield opened


def seed_company(program: RotationProgram, *, actor: str = "cio@example.com") -> None:
    """Two IT departments, three host departments, IT staff E1-E6, mentors per host.

    Host FIN has mentors M1, M2; OPS has M3; HR has M4. The policy allows 31 days,
    3 away at once, 1 guest per department and 1 mentee per mentor.
    """
    with program.acting_as(actor):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_department("ITOPS", name="IT Operations", is_it=True)
        program.register_department("FIN", name="Finance")
        program.register_department("OPS", name="Operations")
        program.register_department("HR", name="Human Resources")
        for n in range(1, 7):
            program.register_employee(
                f"E{n}",
                name=f"Engineer {n}",
                email=f"e{n}@example.com",
                department="IT" if n <= 4 else "ITOPS",
                manager="E0",
            )
        for code, department in (("M1", "FIN"), ("M2", "FIN"), ("M3", "OPS"), ("M4", "HR")):
            program.register_employee(
                code,
                name=f"Mentor {code}",
                email=f"{code.lower()}@example.com",
                department=department,
            )
        program.set_policy(
            max_length_days=31,
            max_concurrent=3,
            max_guests_per_department=1,
            max_mentees_per_mentor=1,
        )


@pytest.fixture
def company(program: RotationProgram) -> RotationProgram:
    """The in-memory program seeded by `seed_company`."""
    seed_company(program)
    return program


def recorded_count(program: RotationProgram) -> int:
    """How many events the store holds."""
    return program.app.recorder.max_notification_id() or 0


@pytest.fixture
def seed() -> object:
    """The `seed_company` function, for tests that seed a program of their own."""
    return seed_company


@pytest.fixture
def events_recorded() -> object:
    """The `recorded_count` function: ``events_recorded(program)`` -> number of events."""
    return recorded_count
