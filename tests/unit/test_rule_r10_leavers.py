"""R10: leavers and movers keep their history; their open rotations are flagged or cancelled."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any
from uuid import UUID

from rotation_domain import (
    Employee,
    InvalidTransition,
    MentorshipStatus,
    RotationProgram,
    RotationStatus,
    UnknownDepartment,
)

Refused = Callable[..., AbstractContextManager[None]]
START, END = date(2027, 1, 4), date(2027, 1, 29)


def planned(program: RotationProgram, employee: str = "E1") -> tuple[UUID, UUID]:
    rotation = program.plan_rotation(employee, host_department="FIN", start=START, end=END)
    return rotation, program.nominate_mentor(rotation, mentor="M1")


def running(program: RotationProgram) -> tuple[UUID, UUID]:
    rotation, mentorship = planned(program)
    program.accept_mentorship(mentorship)
    program.start_rotation(rotation, on=START)
    return rotation, mentorship


def the_log(program: RotationProgram) -> list[Any]:
    events: list[Any] = []
    start = 1
    while page := program.app.notification_log.select(start=start, limit=500):
        events += [program.app.mapper.to_domain_event(n) for n in page]
        start = page[-1].id + 1
    return events


def events_of(program: RotationProgram, aggregate_id: UUID) -> list[Any]:
    return [e for e in the_log(program) if e.originator_id == aggregate_id]


def test_a_participant_who_departs_has_planned_rotations_cancelled_with_the_reason(
    cio: RotationProgram,
) -> None:
    rotation, mentorship = planned(cio)
    later = cio.plan_rotation(
        "E1", host_department="OPS", start=date(2027, 3, 1), end=date(2027, 3, 5)
    )

    cio.depart_employee("E1", on=date(2027, 1, 2), reason="resigned")

    for cancelled in (rotation, later):
        assert cio.get(cancelled).status is RotationStatus.CANCELLED
        [event] = [e for e in events_of(cio, cancelled) if type(e).__name__ == "RotationCancelled"]
        assert "E1 left the company on 2027-01-02 (resigned)" in event.reason
    assert cio.get(mentorship).status is MentorshipStatus.RELEASED


def test_a_departed_participant_s_places_are_freed(cio: RotationProgram) -> None:
    planned(cio)
    cio.depart_employee("E1", on=date(2027, 1, 2))

    rotation, mentorship = planned(cio, "E2")  # the same host and the same mentor

    assert cio.get(rotation).host_department == "FIN"
    assert cio.get(mentorship).mentor == "M1"


def test_a_participant_who_departs_mid_rotation_has_it_cancelled(cio: RotationProgram) -> None:
    rotation, _ = running(cio)

    cio.depart_employee("E1", on=date(2027, 1, 10))

    assert cio.get(rotation).status is RotationStatus.CANCELLED


def test_a_departed_employee_cannot_be_planned_for(cio: RotationProgram, refused: Refused) -> None:
    cio.depart_employee("E1", on=date(2027, 1, 2))

    with refused(InvalidTransition, "E1", "departed"):
        planned(cio)


def test_a_participant_moved_out_of_it_has_a_planned_rotation_cancelled(
    cio: RotationProgram,
) -> None:
    rotation, _ = planned(cio)

    cio.transfer_employee("E1", to_department="HR", on=date(2027, 1, 2))

    assert cio.get(rotation).status is RotationStatus.CANCELLED
    [event] = [e for e in events_of(cio, rotation) if type(e).__name__ == "RotationCancelled"]
    assert "E1 moved from IT to HR on 2027-01-02" in event.reason


def test_a_participant_moved_out_of_it_has_a_rotation_in_progress_flagged_not_stopped(
    cio: RotationProgram,
) -> None:
    rotation, _ = running(cio)

    cio.transfer_employee("E1", to_department="HR", on=date(2027, 1, 10))

    flagged = cio.get(rotation)
    assert flagged.status is RotationStatus.IN_PROGRESS
    [flag] = flagged.flags
    assert "E1 moved from IT to HR on 2027-01-10" in flag


def test_a_participant_moved_between_it_departments_keeps_the_rotation(
    cio: RotationProgram,
) -> None:
    rotation, _ = planned(cio)

    cio.transfer_employee("E1", to_department="ITOPS", on=date(2027, 1, 2))

    kept = cio.get(rotation)
    assert (kept.status, kept.flags) == (RotationStatus.PLANNED, ())


def test_a_transfer_to_an_unknown_department_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    planned(cio)

    with refused(UnknownDepartment, "LEGAL"):
        cio.transfer_employee("E1", to_department="LEGAL")


def test_a_mentor_who_departs_is_released_and_the_rotation_flagged(cio: RotationProgram) -> None:
    rotation, mentorship = running(cio)

    cio.depart_employee("M1", on=date(2027, 1, 10))

    assert cio.get(mentorship).status is MentorshipStatus.RELEASED
    flagged = cio.get(rotation)
    assert flagged.status is RotationStatus.IN_PROGRESS
    [flag] = flagged.flags
    assert "mentor M1" in flag


def test_a_rotation_whose_mentor_departed_can_get_a_new_mentor(cio: RotationProgram) -> None:
    rotation, _ = planned(cio)
    cio.depart_employee("M1", on=date(2027, 1, 2))

    replacement = cio.nominate_mentor(rotation, mentor="M2")
    cio.accept_mentorship(replacement)
    cio.start_rotation(rotation, on=START)

    assert cio.get(rotation).mentor == "M2"
    assert cio.get(rotation).status is RotationStatus.IN_PROGRESS


def test_a_mentor_moved_to_another_department_is_released(cio: RotationProgram) -> None:
    rotation, mentorship = planned(cio)

    cio.transfer_employee("M1", to_department="OPS", on=date(2027, 1, 2))

    assert cio.get(mentorship).status is MentorshipStatus.RELEASED
    assert len(cio.get(rotation).flags) == 1


def test_a_mentor_who_already_declined_is_left_alone_when_they_depart(
    cio: RotationProgram,
) -> None:
    rotation, mentorship = planned(cio)
    cio.decline_mentorship(mentorship, reason="month-end close")

    cio.depart_employee("M1", on=date(2027, 1, 2))

    assert cio.get(mentorship).status is MentorshipStatus.DECLINED
    assert cio.get(rotation).flags == ()


def test_leavers_keep_their_history_nothing_is_deleted(cio: RotationProgram) -> None:
    rotation, _ = running(cio)
    cio.record_observation(rotation, "Invoices are re-keyed by hand")
    before = the_log(cio)

    cio.depart_employee("M1", on=date(2027, 1, 10))
    cio.depart_employee("E1", on=date(2027, 1, 11))

    after = the_log(cio)
    assert after[: len(before)] == before
    added = {type(e).__name__ for e in after[len(before) :]}
    assert {
        "EmployeeDeparted",
        "MentorshipReleased",
        "RotationFlagged",
        "RotationCancelled",
    } <= added
    leaver = cio.get(Employee.id_for("E1"))
    assert (leaver.name, leaver.active) == ("Engineer 1", False)
    assert len(cio.get(rotation).observations) == 1


def test_a_mentor_s_departure_is_recorded_even_after_the_caps_were_lowered(
    cio: RotationProgram,
) -> None:
    _, mentorship = planned(cio)
    cio.plan_rotation("E2", host_department="OPS", start=START, end=END)
    cio.set_policy(max_concurrent=1)  # rotations already booked keep their places

    cio.depart_employee("M1", on=date(2027, 1, 2))

    assert cio.get(mentorship).status is MentorshipStatus.RELEASED
