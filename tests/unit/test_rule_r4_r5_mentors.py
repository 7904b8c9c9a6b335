"""R4: a mentor who works in the host department and agrees; R5: mentors are briefed."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from uuid import UUID

import pytest

from rotation_domain import (
    InvalidTransition,
    MentorNotAgreed,
    MentorNotBriefed,
    MentorNotInHostDepartment,
    MentorshipStatus,
    RotationProgram,
    RotationStatus,
    UnknownEmployee,
)

Refused = Callable[..., AbstractContextManager[None]]
START = date(2027, 1, 4)


def plan(program: RotationProgram, employee: str = "E1", host: str = "FIN") -> UUID:
    return program.plan_rotation(employee, host_department=host, start=START, end=date(2027, 1, 29))


def test_a_mentor_from_the_host_department_can_be_nominated(cio: RotationProgram) -> None:
    rotation = plan(cio)

    mentorship = cio.nominate_mentor(rotation, mentor="M1")

    assert cio.get(mentorship).status is MentorshipStatus.NOMINATED
    assert cio.get(rotation).mentor == "M1"


def test_a_mentor_from_another_department_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio)

    with refused(MentorNotInHostDepartment, "M3", "OPS", "FIN", "R4"):
        cio.nominate_mentor(rotation, mentor="M3")


def test_an_unknown_mentor_is_refused(cio: RotationProgram, refused: Refused) -> None:
    rotation = plan(cio)

    with refused(UnknownEmployee, "M9"):
        cio.nominate_mentor(rotation, mentor="M9")


def test_a_mentor_who_has_departed_cannot_be_nominated(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio)
    cio.depart_employee("M1", on=date(2027, 1, 2))

    with refused(InvalidTransition, "M1", "departed"):
        cio.nominate_mentor(rotation, mentor="M1")


def test_a_rotation_without_a_mentor_cannot_start(cio: RotationProgram, refused: Refused) -> None:
    rotation = plan(cio)

    with refused(MentorNotAgreed, "no mentor has been nominated", "R4"):
        cio.start_rotation(rotation, on=START)


def test_a_rotation_whose_mentor_has_not_agreed_cannot_start(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio)
    cio.nominate_mentor(rotation, mentor="M1")

    with refused(MentorNotAgreed, "M1", "not agreed", "R4"):
        cio.start_rotation(rotation, on=START)


def test_a_rotation_whose_mentor_agreed_can_start(cio: RotationProgram) -> None:
    rotation = plan(cio)
    cio.accept_mentorship(cio.nominate_mentor(rotation, mentor="M1"), actor="M1")

    cio.start_rotation(rotation, on=START)

    assert cio.get(rotation).status is RotationStatus.IN_PROGRESS


def test_a_rotation_whose_mentor_declined_cannot_start(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio)
    cio.decline_mentorship(cio.nominate_mentor(rotation, mentor="M1"), reason="month-end close")

    with refused(MentorNotAgreed, "M1 declined", "nominate another mentor", "R4"):
        cio.start_rotation(rotation, on=START)


def test_a_declined_mentor_makes_way_for_a_new_nomination(cio: RotationProgram) -> None:
    rotation = plan(cio)
    declined = cio.nominate_mentor(rotation, mentor="M1")
    cio.decline_mentorship(declined, reason="month-end close")

    second = cio.nominate_mentor(rotation, mentor="M2")
    cio.accept_mentorship(second)
    cio.start_rotation(rotation, on=START)

    assert cio.get(declined).status is MentorshipStatus.DECLINED
    assert cio.get(rotation).mentor == "M2"
    assert cio.get(rotation).status is RotationStatus.IN_PROGRESS


@pytest.mark.parametrize("agreed", [False, True], ids=["nominated", "agreed"])
def test_nominating_while_a_mentorship_is_open_is_refused(
    cio: RotationProgram, refused: Refused, agreed: bool
) -> None:
    rotation = plan(cio)
    mentorship = cio.nominate_mentor(rotation, mentor="M1")
    if agreed:
        cio.accept_mentorship(mentorship)

    with refused(InvalidTransition, "M1", "already has mentor"):
        cio.nominate_mentor(rotation, mentor="M2")


def test_a_declined_mentorship_cannot_be_accepted(cio: RotationProgram, refused: Refused) -> None:
    mentorship = cio.nominate_mentor(plan(cio), mentor="M1")
    cio.decline_mentorship(mentorship, reason="month-end close")

    with refused(InvalidTransition, "declined"):
        cio.accept_mentorship(mentorship)


def test_declining_is_recorded_even_after_the_caps_were_lowered(cio: RotationProgram) -> None:
    mentorship = cio.nominate_mentor(plan(cio, "E1", "FIN"), mentor="M1")
    plan(cio, "E2", "OPS")
    cio.set_policy(max_concurrent=1)  # rotations already booked keep their places

    cio.decline_mentorship(mentorship, reason="month-end close")

    assert cio.get(mentorship).status is MentorshipStatus.DECLINED


def test_a_mentor_joins_a_booked_rotation_even_after_the_caps_were_lowered(
    cio: RotationProgram,
) -> None:
    rotation = plan(cio, "E1", "FIN")
    plan(cio, "E2", "OPS")
    cio.set_policy(max_concurrent=1)  # only the new mentor's cap applies to a nomination

    assert cio.get(cio.nominate_mentor(rotation, mentor="M1")).mentor == "M1"


def test_a_briefing_is_recorded_with_its_date(cio: RotationProgram) -> None:
    mentorship = cio.nominate_mentor(plan(cio), mentor="M1")

    cio.brief_mentor(mentorship, on=date(2027, 1, 2))

    assert cio.get(mentorship).briefed_on == date(2027, 1, 2)


def test_a_briefing_defaults_to_today(cio: RotationProgram) -> None:
    mentorship = cio.nominate_mentor(plan(cio), mentor="M1")

    cio.brief_mentor(mentorship)

    assert cio.get(mentorship).briefed_on == date(2027, 1, 1)


def test_without_require_briefing_an_unbriefed_mentor_blocks_nothing(
    cio: RotationProgram,
) -> None:
    rotation = plan(cio)
    cio.accept_mentorship(cio.nominate_mentor(rotation, mentor="M1"))

    cio.start_rotation(rotation, on=START)

    assert cio.get(rotation).status is RotationStatus.IN_PROGRESS


def test_with_require_briefing_an_unbriefed_mentor_blocks_the_start(
    cio: RotationProgram, refused: Refused
) -> None:
    cio.set_policy(require_briefing=True)
    rotation = plan(cio)
    cio.accept_mentorship(cio.nominate_mentor(rotation, mentor="M1"))

    with refused(MentorNotBriefed, "M1", "briefed", "R5"):
        cio.start_rotation(rotation, on=START)


def test_with_require_briefing_a_briefed_mentor_lets_the_rotation_start(
    cio: RotationProgram,
) -> None:
    cio.set_policy(require_briefing=True)
    rotation = plan(cio)
    mentorship = cio.nominate_mentor(rotation, mentor="M1")
    cio.accept_mentorship(mentorship)
    cio.brief_mentor(mentorship, on=date(2027, 1, 2))

    cio.start_rotation(rotation, on=START)

    assert cio.get(rotation).status is RotationStatus.IN_PROGRESS


def test_a_declined_mentorship_cannot_be_briefed(cio: RotationProgram, refused: Refused) -> None:
    mentorship = cio.nominate_mentor(plan(cio), mentor="M1")
    cio.decline_mentorship(mentorship, reason="month-end close")

    with refused(InvalidTransition, "declined"):
        cio.brief_mentor(mentorship, on=date(2027, 1, 2))
