"""Loads read an aggregate's latest snapshot, later events and own key in one query.

On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore

from adapters.personal_keys import make_kek
from rotation_domain import FORGOTTEN, Department, Employee, RotationProgram, open_program
from rotation_domain.application import RotationApplication
from rotation_domain.program import PROGRAM_ID

CIO = "cio@example.com"
INTERVAL = RotationApplication.SNAPSHOT_INTERVAL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def long_program(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RotationProgram]:
    """A program whose Program aggregate has a snapshot and events after it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rotation.db'}"
    else:
        url = str(request.getfixturevalue("postgres_schema_url"))
    with open_program(url, today=lambda: date(2027, 1, 1)) as program:
        with program.acting_as(CIO):
            for n in range(INTERVAL + 7):
                program.set_policy(max_concurrent=4 + n % 3)
        yield program


def _two_queries(app: Any, lte: int | None) -> tuple[int | None, list[int]]:
    """What eventsourcing's repository reads: the latest snapshot, then the events after it."""
    found = list(app.snapshots.recorder.select_events(PROGRAM_ID, desc=True, limit=1, lte=lte))
    after = found[0].originator_version if found else None
    events = app.recorder.select_events(PROGRAM_ID, gt=after, lte=lte)
    return after, [e.originator_version for e in events]


def test_one_query_reads_what_the_two_queries_read(long_program: RotationProgram) -> None:
    app: Any = long_program.app
    recorder: Any = app.recorder
    latest = app.repository.get(PROGRAM_ID).version
    assert latest > INTERVAL + 1
    for lte in (None, 1, INTERVAL - 1, INTERVAL, INTERVAL + 1, latest, latest + 5):
        found = recorder.select_snapshot_and_events(app.snapshots.recorder, PROGRAM_ID, lte=lte)
        assert found is not None
        snapshot, events = found
        after = None if snapshot is None else snapshot.originator_version
        assert (after, [e.originator_version for e in events]) == _two_queries(app, lte)


def test_a_load_reads_once_and_gives_the_same_state(
    long_program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = long_program.app
    latest = app.repository.get(PROGRAM_ID).version
    expected = vars(app.repository.get(PROGRAM_ID, version=INTERVAL + 3))
    reads: list[str] = []
    for recorder, label in ((app.recorder, "events"), (app.snapshots.recorder, "snapshots")):
        real = recorder.select_events

        def spy(*args: Any, _real: Any = real, _label: str = label, **kwargs: Any) -> Any:
            reads.append(_label)
            return _real(*args, **kwargs)

        monkeypatch.setattr(recorder, "select_events", spy)
    assert app.repository.cache is not None
    app.repository.cache.get(PROGRAM_ID, evict=True)
    loaded = app.repository.get(PROGRAM_ID)
    past = app.repository.get(PROGRAM_ID, version=INTERVAL + 3)
    assert loaded.version == latest
    assert vars(past) == expected
    assert reads == []  # neither the snapshot nor the events were read the two-query way


def test_snapshots_kept_in_another_database_are_read_the_usual_way(
    long_program: RotationProgram, tmp_path: Path
) -> None:
    app: Any = long_program.app
    elsewhere = SQLiteAggregateRecorder(SQLiteDatastore(str(tmp_path / "other.db")), "snapshots")
    elsewhere.create_table()
    assert app.recorder.select_snapshot_and_events(elsewhere, PROGRAM_ID) is None


# An aggregate's own personal data key, read with its events.


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def people_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store holding two IT employees, E1 and E2 (E2 forgotten)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'people.db'}"
    else:
        url = str(request.getfixturevalue("postgres_schema_url"))
    with open_program(url, today=lambda: date(2027, 1, 1)) as program, program.acting_as(CIO):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_employee("E1", name="Ada", email="ada@example.com", department="IT")
        program.register_employee("E2", name="Bob", email="bob@example.com", department="IT")
        program.forget_employee("E2", reason="erasure request 17")
    return url


class KeyReads:
    """Counts the key store's own reads of key rows."""

    def __init__(self, keys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("_select_key", "_select_keys"):
            real = getattr(keys, name)

            def spy(*args: Any, _real: Any = real) -> Any:
                self.count += 1
                return _real(*args)

            monkeypatch.setattr(keys, name, spy)


def test_loading_an_employee_reads_their_key_in_the_same_query(
    people_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_program(people_url, today=lambda: date(2027, 1, 1)) as program:  # keys not cached
        app: Any = program.app
        reads = KeyReads(app.personal_keys, monkeypatch)
        employee: Any = program.get(Employee.id_for("E1"))
        assert (employee.name, employee.email) == ("Ada", "ada@example.com")
        assert reads.count == 0  # the key came with the events: no query of its own
        assert not app.personal_keys.wants(str(Employee.id_for("E1")))


def test_a_forgotten_employee_loads_forgotten_from_the_tombstone_read_with_the_events(
    people_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_program(people_url, today=lambda: date(2027, 1, 1)) as program:
        app: Any = program.app
        reads = KeyReads(app.personal_keys, monkeypatch)
        employee: Any = program.get(Employee.id_for("E2"))
        assert (employee.name, employee.email) == (FORGOTTEN, FORGOTTEN)
        assert reads.count == 0
        assert app.personal_keys.is_forgotten(Employee.id_for("E2"))


def test_a_cached_key_is_not_read_again_and_other_aggregates_load_as_before(
    people_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_program(people_url, today=lambda: date(2027, 1, 1)) as program:
        app: Any = program.app
        first: Any = program.get(Employee.id_for("E1"))
        accepted: list[str] = []
        real_accept = app.personal_keys.accept
        monkeypatch.setattr(
            app.personal_keys,
            "accept",
            lambda text, stored: (accepted.append(text), real_accept(text, stored)),
        )
        assert app.repository.cache is not None
        app.repository.cache.get(Employee.id_for("E1"), evict=True)
        again: Any = program.get(Employee.id_for("E1"))
        assert again.name == first.name == "Ada"
        assert accepted == []  # the key was cached: the load did not ask for its row
        department = Department.id_for("IT")  # not loaded yet by this program
        assert app.personal_keys.wants(str(department))  # nobody's key: its row is asked for
        assert program.get(department).version == 1  # and, there being none, loads as before
        assert str(department) not in accepted


def test_a_key_row_that_cannot_be_unwrapped_is_left_to_the_key_store_to_report(
    tmp_path: Path,
) -> None:
    kek = make_kek()
    url = f"sqlite:///{tmp_path / 'wrapped.db'}"
    settings = {"ROTATION_KEY_ENCRYPTION_KEY": kek}
    with (
        open_program(url, today=lambda: date(2027, 1, 1), settings=settings) as program,
        program.acting_as(CIO),
    ):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_employee("E1", name="Ada", email="ada@example.com", department="IT")
    with open_program(url, today=lambda: date(2027, 1, 1)) as program:  # no KEK given
        keys: Any = program.app.personal_keys
        subject = str(Employee.id_for("E1"))
        stored = keys._select_key(Employee.id_for("E1"))[1]
        keys.accept(subject, stored)
        assert keys.wants(subject)  # not cached: reading it the usual way says why
        with pytest.raises(ValueError, match="ROTATION_KEY_ENCRYPTION_KEY"):
            keys.data_key(Employee.id_for("E1"))
