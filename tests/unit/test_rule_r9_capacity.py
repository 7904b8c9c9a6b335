"""R9: caps on who is away, counted per day, and one rotation at a time per person.

The seeded policy allows 3 IT staff away at once, 1 guest per host department and
1 mentee per mentor.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from uuid import UUID

from rotation_domain import (
    CapacityExceeded,
    HostDepartmentFull,
    MentorUnavailable,
    OverlappingRotation,
    RotationProgram,
    RotationStatus,
)

Refused = Callable[..., AbstractContextManager[None]]


def jan(day: int) -> date:
    return date(2027, 1, day)


def feb(day: int) -> date:
    return date(2027, 2, day)


def plan(program: RotationProgram, employee: str, host: str, start: date, end: date) -> UUID:
    return program.plan_rotation(employee, host_department=host, start=start, end=end)


# Program-wide cap, per day


def test_a_fourth_rotation_on_a_day_when_three_are_away_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    cio.set_policy(max_guests_per_department=4)
    plan(cio, "E1", "FIN", jan(1), jan(10))
    plan(cio, "E2", "OPS", jan(5), jan(15))
    plan(cio, "E3", "HR", jan(10), jan(20))  # all three are away on January 10 only

    with refused(CapacityExceeded, "3 IT staff", "2027-01-10", "at most 3", "R9"):
        plan(cio, "E4", "FIN", jan(10), jan(12))


def test_a_fourth_rotation_that_overlaps_three_without_sharing_a_day_with_all_is_accepted(
    cio: RotationProgram,
) -> None:
    cio.set_policy(max_guests_per_department=4)
    plan(cio, "E1", "FIN", jan(1), jan(5))
    plan(cio, "E2", "OPS", jan(10), jan(15))
    plan(cio, "E3", "HR", jan(20), jan(25))

    rotation = plan(cio, "E4", "FIN", jan(1), jan(31))  # overlaps each, never two at once

    assert cio.get(rotation).status is RotationStatus.PLANNED


def test_a_fourth_rotation_beside_a_day_when_three_are_away_is_accepted(
    cio: RotationProgram,
) -> None:
    cio.set_policy(max_guests_per_department=4)
    plan(cio, "E1", "FIN", jan(1), jan(10))
    plan(cio, "E2", "OPS", jan(5), jan(15))
    plan(cio, "E3", "HR", jan(10), jan(20))

    rotation = plan(cio, "E4", "FIN", jan(11), jan(31))  # at most 3 away on any day

    assert cio.get(rotation).status is RotationStatus.PLANNED


def test_a_lower_program_wide_cap_applies_to_new_rotations(
    cio: RotationProgram, refused: Refused
) -> None:
    plan(cio, "E1", "FIN", jan(4), jan(15))
    cio.set_policy(max_concurrent=1)

    with refused(CapacityExceeded, "1 IT staff", "2027-01-15", "at most 1"):
        plan(cio, "E2", "OPS", jan(15), jan(20))


# Host department cap


def test_a_second_guest_in_a_full_host_department_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    plan(cio, "E1", "FIN", jan(4), jan(15))

    with refused(HostDepartmentFull, "FIN", "1 IT guest", "2027-01-10", "at most 1", "R9"):
        plan(cio, "E2", "FIN", jan(10), jan(20))


def test_another_host_department_takes_a_guest_on_the_same_days(cio: RotationProgram) -> None:
    plan(cio, "E1", "FIN", jan(4), jan(15))

    assert cio.get(plan(cio, "E2", "OPS", jan(4), jan(15))).host_department == "OPS"


def test_a_host_department_takes_guests_one_after_the_other(cio: RotationProgram) -> None:
    plan(cio, "E1", "FIN", jan(4), jan(15))

    assert cio.get(plan(cio, "E2", "FIN", jan(16), jan(31))).host_department == "FIN"


# Mentor cap


def test_a_mentor_with_a_mentee_on_those_days_cannot_be_nominated_again(
    cio: RotationProgram, refused: Refused
) -> None:
    cio.set_policy(max_guests_per_department=2)
    cio.nominate_mentor(plan(cio, "E1", "FIN", jan(4), jan(15)), mentor="M1")
    second = plan(cio, "E2", "FIN", jan(10), jan(20))

    with refused(MentorUnavailable, "M1", "1 mentee", "2027-01-10", "at most 1", "R9"):
        cio.nominate_mentor(second, mentor="M1")
    assert cio.get(cio.nominate_mentor(second, mentor="M2")).mentor == "M2"


def test_a_mentor_may_guide_mentees_one_after_the_other(cio: RotationProgram) -> None:
    cio.set_policy(max_guests_per_department=2)
    cio.nominate_mentor(plan(cio, "E1", "FIN", jan(4), jan(15)), mentor="M1")

    later = cio.nominate_mentor(plan(cio, "E2", "FIN", jan(16), jan(31)), mentor="M1")

    assert cio.get(later).mentor == "M1"


def test_a_mentor_freed_by_declining_can_be_nominated_again(cio: RotationProgram) -> None:
    cio.set_policy(max_guests_per_department=2)
    declined = cio.nominate_mentor(plan(cio, "E1", "FIN", jan(4), jan(15)), mentor="M1")
    cio.decline_mentorship(declined, reason="month-end close")

    again = cio.nominate_mentor(plan(cio, "E2", "FIN", jan(10), jan(20)), mentor="M1")

    assert cio.get(again).mentor == "M1"


def test_rescheduling_does_not_give_a_declined_mentor_their_place_back(
    cio: RotationProgram,
) -> None:
    cio.set_policy(max_guests_per_department=2)
    first = plan(cio, "E1", "FIN", jan(4), jan(15))
    cio.decline_mentorship(cio.nominate_mentor(first, mentor="M1"), reason="month-end close")
    cio.reschedule_rotation(first, start=jan(5), end=jan(15))

    again = cio.nominate_mentor(plan(cio, "E2", "FIN", jan(10), jan(20)), mentor="M1")

    assert cio.get(again).mentor == "M1"


# One rotation at a time per person


def test_overlapping_rotations_for_one_person_are_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    plan(cio, "E1", "FIN", jan(4), jan(15))

    with refused(OverlappingRotation, "E1", "2027-01-15", "one rotation at a time", "R9"):
        plan(cio, "E1", "OPS", jan(15), jan(20))


def test_back_to_back_rotations_for_one_person_are_accepted(cio: RotationProgram) -> None:
    plan(cio, "E1", "FIN", jan(4), jan(15))

    assert cio.get(plan(cio, "E1", "OPS", jan(16), jan(20))).participant == "E1"


# What holds a place, and for how long


def test_a_cancelled_rotation_frees_its_places(cio: RotationProgram) -> None:
    cio.set_policy(max_concurrent=1)
    rotation = plan(cio, "E1", "FIN", jan(4), jan(15))
    cio.nominate_mentor(rotation, mentor="M1")

    cio.cancel_rotation(rotation, reason="project deadline")

    replacement = plan(cio, "E2", "FIN", jan(4), jan(15))  # program, host and mentor places
    assert cio.get(cio.nominate_mentor(replacement, mentor="M1")).mentor == "M1"


def test_a_cancelled_rotation_no_longer_blocks_its_participant_s_days(
    cio: RotationProgram,
) -> None:
    cio.cancel_rotation(plan(cio, "E1", "FIN", jan(4), jan(15)), reason="project deadline")

    assert cio.get(plan(cio, "E1", "OPS", jan(4), jan(15))).participant == "E1"


def test_a_completed_rotation_keeps_its_place_on_its_days(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio, "E1", "FIN", jan(4), jan(15))
    cio.accept_mentorship(cio.nominate_mentor(rotation, mentor="M1"))
    cio.start_rotation(rotation, on=jan(4))
    cio.propose_improvement(rotation, title="Route invoices automatically")
    cio.complete_rotation(rotation, on=jan(15))

    with refused(HostDepartmentFull, "FIN", "2027-01-10"):
        plan(cio, "E2", "FIN", jan(10), jan(20))
    with refused(OverlappingRotation, "E1", "2027-01-15"):
        plan(cio, "E1", "OPS", jan(15), jan(20))


def test_a_rotation_across_two_months_is_checked_against_the_first_month(
    cio: RotationProgram, refused: Refused
) -> None:
    plan(cio, "E1", "FIN", jan(10), jan(20))

    with refused(HostDepartmentFull, "FIN", "2027-01-20"):
        plan(cio, "E2", "FIN", jan(20), feb(10))


def test_a_rotation_across_two_months_is_checked_against_the_second_month(
    cio: RotationProgram, refused: Refused
) -> None:
    plan(cio, "E1", "FIN", feb(8), feb(20))

    with refused(HostDepartmentFull, "FIN", "2027-02-08"):
        plan(cio, "E2", "FIN", jan(20), feb(10))


def test_a_rotation_across_two_months_holds_its_place_in_both(
    cio: RotationProgram, refused: Refused
) -> None:
    plan(cio, "E1", "FIN", jan(20), feb(10))

    with refused(HostDepartmentFull, "FIN", "2027-01-25"):
        plan(cio, "E2", "FIN", jan(25), jan(31))
    with refused(HostDepartmentFull, "FIN", "2027-02-01"):
        plan(cio, "E3", "FIN", feb(1), feb(5))


# Rescheduling


def test_rescheduling_into_a_full_host_department_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio, "E1", "FIN", jan(4), jan(15))
    plan(cio, "E2", "FIN", jan(20), jan(31))

    with refused(HostDepartmentFull, "FIN", "2027-01-20", "at most 1"):
        cio.reschedule_rotation(rotation, start=jan(4), end=jan(20))
    assert str(cio.get(rotation).period) == "2027-01-04..2027-01-15"


def test_rescheduling_onto_a_mentor_s_busy_days_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    cio.set_policy(max_guests_per_department=2)
    cio.nominate_mentor(plan(cio, "E1", "FIN", jan(4), jan(10)), mentor="M1")
    later = plan(cio, "E2", "FIN", jan(11), jan(20))
    cio.nominate_mentor(later, mentor="M1")

    with refused(MentorUnavailable, "M1", "2027-01-10"):
        cio.reschedule_rotation(later, start=jan(10), end=jan(20))


def test_rescheduling_is_not_checked_against_the_rotation_itself(cio: RotationProgram) -> None:
    cio.set_policy(max_concurrent=1)
    rotation = plan(cio, "E1", "FIN", jan(4), jan(15))
    cio.nominate_mentor(rotation, mentor="M1")

    cio.reschedule_rotation(rotation, start=jan(5), end=jan(16))

    assert str(cio.get(rotation).period) == "2027-01-05..2027-01-16"


def test_rescheduling_into_another_month_frees_the_old_days(cio: RotationProgram) -> None:
    rotation = plan(cio, "E1", "FIN", jan(4), jan(15))

    cio.reschedule_rotation(rotation, start=feb(1), end=feb(12))

    assert cio.get(plan(cio, "E2", "FIN", jan(4), jan(15))).host_department == "FIN"
