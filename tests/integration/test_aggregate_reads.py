"""Loads read an aggregate's latest snapshot and later events in one query (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore

from rotation_domain import RotationProgram, open_program
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
