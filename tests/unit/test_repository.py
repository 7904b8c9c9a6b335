"""The program's repository projects events without eventsourcing's per-event protocol check."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.application import project_aggregate

from rotation_domain import RotationProgram
from rotation_domain._repository import ProgramRepository, project_events
from rotation_domain.program import PROGRAM_ID, Program


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
