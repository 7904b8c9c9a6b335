"""R2: a rotation lasts at most the policy's number of days, start and end included."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from uuid import UUID

from rotation_domain import (
    InvalidInput,
    InvalidTransition,
    RotationProgram,
    RotationTooLong,
)

Refused = Callable[..., AbstractContextManager[None]]


def plan(program: RotationProgram, start: date, end: date, employee: str = "E1") -> UUID:
    return program.plan_rotation(employee, host_department="FIN", start=start, end=end)


def test_a_rotation_of_exactly_31_days_is_accepted(cio: RotationProgram) -> None:
    rotation = plan(cio, date(2027, 1, 1), date(2027, 1, 31))

    assert cio.get(rotation).period.length_days == 31


def test_a_rotation_of_32_days_is_refused(cio: RotationProgram, refused: Refused) -> None:
    with refused(RotationTooLong, "32 days", "at most 31", "R2"):
        plan(cio, date(2027, 1, 1), date(2027, 2, 1))


def test_a_one_day_rotation_is_accepted(cio: RotationProgram) -> None:
    rotation = plan(cio, date(2027, 1, 4), date(2027, 1, 4))

    assert cio.get(rotation).period.length_days == 1


def test_an_end_before_the_start_is_invalid_input(cio: RotationProgram, refused: Refused) -> None:
    with refused(InvalidInput, "2027-01-03", "2027-01-04"):
        plan(cio, date(2027, 1, 4), date(2027, 1, 3))


def test_a_shorter_policy_limit_accepts_10_days_and_refuses_11(
    cio: RotationProgram, refused: Refused
) -> None:
    cio.set_policy(max_length_days=10)

    assert cio.get(plan(cio, date(2027, 1, 1), date(2027, 1, 10))).period.length_days == 10
    with refused(RotationTooLong, "11 days", "at most 10", "R2"):
        plan(cio, date(2027, 3, 1), date(2027, 3, 11), employee="E2")


def test_a_policy_limit_that_is_not_a_positive_number_is_invalid_input(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(InvalidInput, "max_length_days", "0"):
        cio.set_policy(max_length_days=0)


def test_rescheduling_within_the_limit_moves_the_window(cio: RotationProgram) -> None:
    rotation = plan(cio, date(2027, 1, 4), date(2027, 1, 15))

    cio.reschedule_rotation(rotation, start=date(2027, 1, 11), end=date(2027, 2, 10))

    assert str(cio.get(rotation).period) == "2027-01-11..2027-02-10"


def test_rescheduling_beyond_the_limit_is_refused(cio: RotationProgram, refused: Refused) -> None:
    rotation = plan(cio, date(2027, 1, 4), date(2027, 1, 15))

    with refused(RotationTooLong, "33 days", "at most 31", "R2"):
        cio.reschedule_rotation(rotation, start=date(2027, 1, 4), end=date(2027, 2, 5))
    assert str(cio.get(rotation).period) == "2027-01-04..2027-01-15"


def test_extending_a_rotation_in_progress_beyond_the_limit_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio, date(2027, 1, 4), date(2027, 1, 15))
    cio.accept_mentorship(cio.nominate_mentor(rotation, mentor="M1"))
    cio.start_rotation(rotation, on=date(2027, 1, 4))

    with refused(RotationTooLong, "32 days", "at most 31", "R2"):
        cio.reschedule_rotation(rotation, start=date(2027, 1, 4), end=date(2027, 2, 4))


def test_a_rotation_in_progress_cannot_move_its_start(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = plan(cio, date(2027, 1, 4), date(2027, 1, 15))
    cio.accept_mentorship(cio.nominate_mentor(rotation, mentor="M1"))
    cio.start_rotation(rotation, on=date(2027, 1, 4))

    with refused(InvalidTransition, "2027-01-04", "only its end"):
        cio.reschedule_rotation(rotation, start=date(2027, 1, 5), end=date(2027, 1, 15))
