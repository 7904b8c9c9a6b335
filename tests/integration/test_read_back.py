"""An event read back without its round trip equals the round trip's (`as_read_back`).

After a command, the inline views fold the events the command recorded as the mapper
would read them back (`rotation_domain.inline_views`), without decoding the stored
form when the mapper can tell what that gives. These tests record every kind of event
the workload makes, people's personal fields sealed with their keys, and compare.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import workload
from eventsourcing.domain import Aggregate

from adapters.mapper import CattrsMapper
from rotation_domain import open_program
from rotation_domain.personal_data import WITHHELD, personal_fields

OPENED_SETS: list[frozenset[str] | None] = [
    frozenset(),
    frozenset({"name"}),
    frozenset({"reason"}),
    frozenset({"topic", "unknown"}),
    None,
]


def _recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[Any]]:
    """Run the workload (and a person forgotten), keeping each event and its stored form."""
    pairs: list[Any] = []
    to_stored = CattrsMapper.to_stored_event

    def keeping(mapper: CattrsMapper, event: Any) -> Any:
        stored = to_stored(mapper, event)
        pairs.append((event, stored))
        return stored

    monkeypatch.setattr(CattrsMapper, "to_stored_event", keeping)
    program = open_program(f"sqlite:///{tmp_path / 'read-back.db'}")
    codes = workload.record_company(program, staff=14)
    workload.record_rotations(program, codes)
    with program.acting_as(workload.CIO):
        program.grant_exemption(codes[0], cycle="2027", reason="Parental leave")
        program.depart_employee(codes[1], on=date(2027, 12, 31))
        program.forget_employee(codes[1], reason="Erasure request")
    return program, pairs


def test_every_recorded_event_reads_back_as_its_round_trip_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, pairs = _recorded(tmp_path, monkeypatch)
    mapper = program.app.mapper
    told = 0
    with program:
        for event, stored in pairs:
            if type(event).__name__ == "Snapshot":
                assert mapper.as_read_back(event, frozenset()) is None
                continue
            for opened in OPENED_SETS:
                read_back = mapper.as_read_back(event, opened)
                if read_back is None:
                    continue
                told += 1
                decoded = (
                    mapper.to_domain_event(stored)
                    if opened is None
                    else mapper.to_domain_event_withholding(stored, opened)
                )
                assert type(read_back) is type(decoded)
                assert vars(read_back) == vars(decoded), type(event).__name__
    assert told > len(pairs), "most events are read back without their round trip"


def test_personal_fields_are_withheld_in_a_copy_and_opening_one_needs_the_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, pairs = _recorded(tmp_path, monkeypatch)
    mapper = program.app.mapper
    with program:
        personal = [(e, personal_fields(type(e))) for e, _ in pairs if personal_fields(type(e))]
        assert personal, "the workload records personal fields"
        for event, names in personal:
            if getattr(type(event), "FORGETS_DATA_SUBJECT", False):
                assert mapper.as_read_back(event, frozenset()) is None
                continue
            before = dict(vars(event))
            withheld = mapper.as_read_back(event, frozenset())
            assert withheld is not None
            assert withheld is not event
            assert all(getattr(withheld, name) is WITHHELD for name in names)
            assert vars(event) == before, "the recorded event itself is left as it was"
            assert mapper.as_read_back(event, frozenset(names)) is None
            assert mapper.as_read_back(event, None) is None
        forgetting = [e for e, _ in pairs if getattr(type(e), "FORGETS_DATA_SUBJECT", False)]
        assert forgetting, "the workload forgets a person"


class _Unseen(Aggregate):
    """An aggregate whose events no mapper has stored."""


def test_an_event_class_no_mapper_stored_yet_needs_the_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = _recorded(tmp_path, monkeypatch)
    with program:
        unseen = _Unseen()
        (event,) = unseen.collect_events()
        assert program.app.mapper.as_read_back(event, frozenset()) is None
