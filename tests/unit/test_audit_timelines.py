"""Timelines: one aggregate's history and the program-wide log, filtered, streamed."""

from __future__ import annotations

import types
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from rotation_domain import Employee, InvalidInput, RotationProgram
from rotation_domain.audit import (
    PAGE_SIZE,
    SUMMARIES,
    TimelineEntry,
    entry_of,
    summarise,
)


def full_story(program: RotationProgram) -> dict[str, Any]:
    """E1 rotates into FIN with M1 as mentor, observes, proposes, completes."""
    with program.acting_as("cio@example.com"):
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = program.nominate_mentor(rotation, mentor="M1")
        other = program.plan_rotation(
            "E2", host_department="OPS", start=date(2027, 1, 4), end=date(2027, 1, 20)
        )
    with program.acting_as("M1"):
        program.accept_mentorship(mentorship)
    with program.acting_as("cio@example.com"):
        program.brief_mentor(mentorship, on=date(2027, 1, 2))
        program.start_rotation(rotation, on=date(2027, 1, 4))
    with program.acting_as("E1"):
        program.record_observation(rotation, "Invoices are re-keyed by hand", on=date(2027, 1, 6))
        improvement = program.propose_improvement(rotation, title="Route invoices")
    with program.acting_as("cio@example.com"):
        program.complete_rotation(rotation, on=date(2027, 1, 29))
    return {
        "rotation": rotation,
        "mentorship": mentorship,
        "other": other,
        "improvement": improvement,
    }


def test_the_history_of_a_rotation_lists_its_events_with_position_time_actor_and_summary(
    company: RotationProgram,
) -> None:
    ids = full_story(company)
    history = company.history(ids["rotation"])
    assert iter(history) is history, "a timeline is streamed"
    entries = list(history)
    assert [e.event_type for e in entries] == [
        "RotationPlanned",
        "MentorshipLinked",
        "RotationStarted",
        "ObservationRecorded",
        "ImprovementLinked",
        "RotationCompleted",
    ]
    assert [e.aggregate_version for e in entries] == list(range(1, 7))
    positions = [e.position for e in entries]
    assert positions == sorted(positions)
    planned = entries[0]
    assert isinstance(planned, TimelineEntry)
    assert planned.actor == "cio@example.com"
    assert planned.business_date == date(2027, 1, 4)
    assert planned.recorded_at.tzinfo is not None
    assert planned.summary == "E1 planned to rotate into FIN from 2027-01-04 to 2027-01-29"
    assert planned.data == {
        "participant": "E1",
        "host_department": "FIN",
        "start": "2027-01-04",
        "end": "2027-01-29",
    }
    observed = entries[3]
    assert observed.actor == "E1"
    assert observed.summary == "Observation (general): Invoices are re-keyed by hand"


def test_the_timeline_of_an_actor_holds_only_what_they_did(company: RotationProgram) -> None:
    full_story(company)
    mine = list(company.timeline(actor="E1"))
    assert {e.actor for e in mine} == {"E1"}
    assert [e.event_type for e in mine] == [
        "ObservationRecorded",
        "ImprovementProposed",
        "ImprovementLinked",
    ]


def test_the_timeline_of_an_employee_follows_them_across_aggregates(
    company: RotationProgram,
) -> None:
    ids = full_story(company)
    entries = list(company.timeline(employee="E1"))
    aggregates = {e.aggregate_id for e in entries}
    assert Employee.id_for("E1") in aggregates
    assert {ids["rotation"], ids["mentorship"], ids["improvement"]} <= aggregates
    types_ = [e.event_type for e in entries]
    assert "EmployeeRegistered" in types_
    assert "RotationBooked" in types_
    assert "MentorSessionHeld" not in types_
    assert all(e.aggregate_id != ids["other"] for e in entries), "E2's rotation is not E1's"
    assert all(e.data.get("booking", {}).get("participant", "E1") == "E1" for e in entries), (
        "other people's bookings in the same month are not E1's"
    )
    mentor = list(company.timeline(employee="M1"))
    assert any(e.aggregate_id == ids["mentorship"] for e in mentor)
    assert any(e.event_type == "MentorBriefed" for e in mentor)


def test_the_timeline_filters_by_recorded_time_and_by_event_type(
    company: RotationProgram,
) -> None:
    before = datetime.now(UTC)
    ids = full_story(company)
    after = datetime.now(UTC)
    everything = list(company.timeline())
    recent = list(company.timeline(since=before, until=after))
    assert recent
    assert all(before <= e.recorded_at < after for e in recent)
    assert len(recent) < len(everything)
    assert list(company.timeline(since=after)) == []
    planned = list(company.timeline(event_types=["RotationPlanned"]))
    assert {e.aggregate_id for e in planned} == {ids["rotation"], ids["other"]}
    by_topic = list(company.timeline(event_types="rotation_domain:RotationPlanned"))
    assert by_topic == planned
    window = list(company.timeline(after=3, upto=7))
    assert [e.position for e in window] == [4, 5, 6, 7]


def test_a_moment_without_a_time_zone_is_refused(company: RotationProgram) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        list(company.timeline(since=datetime(2027, 1, 1)))
    with pytest.raises(InvalidInput):
        list(company.history("not-an-id"))


def test_a_long_timeline_is_read_a_page_at_a_time(company: RotationProgram) -> None:
    pages: list[int] = []
    select = company.app.recorder.select_notifications

    def counting(*args: Any, **kwargs: Any) -> Any:
        pages.append(kwargs["limit"])
        return select(*args, **kwargs)

    with company.acting_as("cio@example.com"):
        for n in range(PAGE_SIZE + 10):
            company.register_department(f"D{n}", name=f"Department {n}")
    company.app.recorder.select_notifications = counting  # type: ignore[method-assign]
    try:
        stream = company.timeline(event_types=["DepartmentRegistered"])
        first = next(stream)
        assert first.event_type == "DepartmentRegistered"
        assert len(pages) == 1, "the first entry needs one page, not the whole log"
        assert sum(1 for _ in stream) >= PAGE_SIZE
    finally:
        del company.app.recorder.select_notifications
    assert set(pages) == {PAGE_SIZE}


def test_every_event_type_of_the_library_has_a_summary_that_fills_in() -> None:
    import rotation_domain

    names = set()
    for aggregate in (
        rotation_domain.Program,
        rotation_domain.Department,
        rotation_domain.Employee,
        rotation_domain.MonthRoster,
        rotation_domain.Rotation,
        rotation_domain.Mentorship,
        rotation_domain.Improvement,
    ):
        for value in vars(aggregate).values():
            if isinstance(value, type) and "TOPIC" in vars(value) and value.__name__ != "Created":
                names.add(value.TOPIC.rsplit(":", 1)[-1])
    assert names - set(SUMMARIES) == set(), "these event types have no summary template"
    assert set(SUMMARIES) - names == set(), "these templates name no event type"


def test_an_unknown_event_type_still_gets_a_one_line_summary() -> None:
    line = summarise("ParkingSpaceAssigned", {"space": "B12", "note": "first\nsecond"}, 3)
    assert line == "ParkingSpaceAssigned (version 3 of its aggregate; note, space)"
    missing = summarise("RotationPlanned", {"participant": "E1"}, 1)
    assert missing.startswith("RotationPlanned (version 1")
    long = summarise("RotationCancelled", {"reason": "x" * 1000})
    assert len(long) == 240
    assert "\n" not in summarise("RotationFlagged", {"reason": "a\nb"})


def test_a_plugin_event_becomes_an_entry_with_a_generic_summary() -> None:
    event = types.SimpleNamespace(
        originator_id=uuid4(),
        originator_version=2,
        timestamp=datetime.now(UTC) - timedelta(days=1),
        actor="bot",
        space="B12",
    )
    entry = entry_of(42, "parking_plugin:ParkingSpaceAssigned", event)
    assert entry.event_type == "ParkingSpaceAssigned"
    assert entry.data == {"space": "B12"}
    assert entry.business_date is None
    assert "ParkingSpaceAssigned" in entry.summary
