"""Our SQLite log reads return exactly what eventsourcing's recorder returns."""

from __future__ import annotations

import itertools
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from adapters.sqlite_subscription import PollingSQLiteApplicationRecorder

TOPICS = ("t:A", "t:B", "t:C")


@pytest.mark.parametrize("id_type", ["uuid", "text"])
def test_same_notifications_as_eventsourcing_for_every_argument(
    tmp_path: Path, id_type: str
) -> None:
    datastore = SQLiteDatastore(str(tmp_path / "log.db"), originator_id_type=id_type)
    ours = PollingSQLiteApplicationRecorder(datastore)
    ours.create_table()
    theirs = SQLiteApplicationRecorder(datastore)
    ids = [uuid4() for _ in range(4)]
    for version in range(1, 8):
        ours.insert_events(
            [
                StoredEvent(
                    originator_id=originator if id_type == "uuid" else str(originator),
                    originator_version=version,
                    topic=TOPICS[(version + n) % 3],
                    state=f'{{"n": {n}, "v": {version}}}'.encode(),
                )
                for n, originator in enumerate(ids)
            ]
        )
    try:
        cases = itertools.product(
            (None, 1, 5, 28),  # start
            (1, 3, 100),  # limit
            (None, 9, 28),  # stop
            ((), ("t:A",), ("t:B", "t:C")),  # topics
            (True, False),  # inclusive_of_start
        )
        for start, limit, stop, topics, inclusive in cases:
            expected = theirs.select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive
            )
            found = ours.select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive
            )
            assert found == expected, (start, limit, stop, topics, inclusive)
            assert [type(n.originator_id) for n in found] == [
                type(n.originator_id) for n in expected
            ]
        assert len(ours.select_notifications(None, 100)) == 28
    finally:
        datastore.close()
