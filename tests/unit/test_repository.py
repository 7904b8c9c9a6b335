"""The program's repository projects events without eventsourcing's per-event protocol check."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from eventsourcing.application import project_aggregate

from rotation_domain import RotationProgram
from rotation_domain._repository import ProgramRepository, project_events
from rotation_domain.program import PROGRAM_ID, Program
from rotation_domain.roster import MonthRoster


@pytest.fixture
def history(cio: RotationProgram) -> RotationProgram:
    """The company's Program with cycles opened and closed and exemptions (personal data)."""
    cio.open_review_cycle("2027-H1", start="2027-01-01", end="2027-06-30")
    cio.grant_exemption("E1", "2027-H1", reason="parental leave")
    cio.grant_exemption("E5", "2027-H1", reason="on a long project")
    cio.close_review_cycle("2027-H1", on="2027-07-01")
    cio.open_review_cycle("2027-H2", start="2027-07-01", end="2027-12-31")
    return cio


def test_the_program_uses_the_faster_repository(company: RotationProgram) -> None:
    assert isinstance(company.app.repository, ProgramRepository)


def test_projecting_without_the_check_gives_the_same_state(history: RotationProgram) -> None:
    events = list(history.app.events.get(PROGRAM_ID))
    assert len(events) > 1
    fast, checked = project_events(None, events), project_aggregate(None, events)
    assert vars(fast) == vars(checked)


def test_every_past_version_loads_as_eventsourcing_would(history: RotationProgram) -> None:
    repository = history.app.repository
    latest: Program = repository.get(PROGRAM_ID)
    assert latest.version >= 6
    for version in range(1, latest.version + 1):
        ours: Program = repository.get(PROGRAM_ID, version=version)
        theirs = repository.get(PROGRAM_ID, version=version, projector_func=_checked)
        assert ours.version == theirs.version == version
        assert vars(ours) == vars(theirs)


def test_a_projector_given_by_the_caller_is_used(history: RotationProgram) -> None:
    seen: list[int] = []

    def counting(aggregate: Any, events: Any) -> Any:
        for event in events:
            seen.append(event.originator_version)
            aggregate = event.mutate(aggregate)
        return aggregate

    loaded = history.app.repository.get(PROGRAM_ID, version=2, projector_func=counting)
    assert loaded.version == 2
    assert seen == [1, 2]
    assert vars(loaded) == vars(history.app.repository.get(PROGRAM_ID, version=2))


def _checked(aggregate: Any, events: Any) -> Any:
    """eventsourcing's own projector, passed as a caller's (not the default object)."""
    return project_aggregate(aggregate, events)


def test_a_copy_of_a_roster_equals_it_and_shares_nothing_that_can_change(
    cio: RotationProgram,
) -> None:
    plans = [("E1", "FIN", "2027-01-04"), ("E2", "OPS", "2027-01-11"), ("E3", "HR", "2027-01-18")]
    for employee, host, start in plans:
        cio.plan_rotation(employee, host_department=host, start=start, end="2027-01-29")
    roster_id = MonthRoster.id_for("2027-01")
    cached = cio.app.repository.get(roster_id)
    assert len(cached.bookings) == 3
    copied = copy.deepcopy(cached)
    assert type(copied) is MonthRoster
    assert vars(copied) == vars(cached)
    assert copied.bookings is not cached.bookings
    assert copied.pending_events is not cached.pending_events
    copied.bookings.clear()
    copied.month = "2099-12"
    assert len(cached.bookings) == 3
    assert cached.month == "2027-01"
    # What `program.get` hands out is such a copy; the cached roster stays as it was.
    handed = cio.get(roster_id)
    assert isinstance(handed, MonthRoster)
    handed.bookings.clear()
    assert len(cio.get(roster_id).bookings) == 3
