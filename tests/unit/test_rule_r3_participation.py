"""R3: participation is mandatory per review cycle; exemptions need a reason.

The participation read model comes later; these tests read what the Program records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from typing import cast

import pytest

from rotation_domain import (
    InvalidInput,
    InvalidTransition,
    NotAnITEmployee,
    Program,
    RotationProgram,
    UnknownEmployee,
    UnknownReviewCycle,
)
from rotation_domain.program import PROGRAM_ID

Refused = Callable[..., AbstractContextManager[None]]


@pytest.fixture
def cio(company: RotationProgram) -> Iterator[RotationProgram]:
    with company.acting_as("cio@example.com"):
        company.open_review_cycle("2027", start=date(2027, 1, 1), end=date(2027, 12, 31))
        yield company


def the_program(program: RotationProgram) -> Program:
    return cast(Program, program.get(PROGRAM_ID))


def test_an_opened_review_cycle_is_recorded_open_with_its_period(cio: RotationProgram) -> None:
    cycle = the_program(cio).cycles["2027"]

    assert str(cycle.period) == "2027-01-01..2027-12-31"
    assert not cycle.closed


def test_a_closed_review_cycle_is_recorded_closed(cio: RotationProgram) -> None:
    cio.close_review_cycle("2027", on=date(2027, 12, 31))

    assert the_program(cio).cycles["2027"].closed


def test_a_review_cycle_cannot_be_closed_twice(cio: RotationProgram, refused: Refused) -> None:
    cio.close_review_cycle("2027", on=date(2027, 12, 31))

    with refused(InvalidTransition, "2027", "already closed"):
        cio.close_review_cycle("2027", on=date(2028, 1, 2))


def test_closing_an_unknown_cycle_is_refused(cio: RotationProgram, refused: Refused) -> None:
    with refused(UnknownReviewCycle, "2026", "known: 2027"):
        cio.close_review_cycle("2026")


def test_a_cycle_that_overlaps_another_is_refused(cio: RotationProgram, refused: Refused) -> None:
    with refused(InvalidTransition, "2028", "2027-12-01..2028-11-30", "2027", "overlap"):
        cio.open_review_cycle("2028", start=date(2027, 12, 1), end=date(2028, 11, 30))


def test_a_cycle_that_starts_the_day_after_another_ends_is_accepted(cio: RotationProgram) -> None:
    cio.open_review_cycle("2028", start=date(2028, 1, 1), end=date(2028, 12, 31))

    assert set(the_program(cio).cycles) == {"2027", "2028"}


def test_a_second_cycle_with_the_same_name_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(InvalidTransition, "'2027'", "already exists"):
        cio.open_review_cycle("2027", start=date(2030, 1, 1), end=date(2030, 12, 31))


def test_an_exemption_with_a_reason_is_recorded(cio: RotationProgram) -> None:
    cio.grant_exemption("E1", "2027", reason="parental leave")

    program = the_program(cio)
    assert program.is_exempted("E1", "2027")
    assert not program.is_exempted("E2", "2027")


def test_an_exemption_without_a_reason_is_invalid_input(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(InvalidInput, "reason"):
        cio.grant_exemption("E1", "2027", reason="  ")
    assert not the_program(cio).is_exempted("E1", "2027")


def test_an_exemption_for_an_employee_outside_it_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(NotAnITEmployee, "M1", "FIN", "R3"):
        cio.grant_exemption("M1", "2027", reason="not IT")


def test_an_exemption_in_an_unknown_cycle_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(UnknownReviewCycle, "2031"):
        cio.grant_exemption("E1", "2031", reason="sabbatical")


def test_an_exemption_for_an_unknown_employee_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(UnknownEmployee, "E99"):
        cio.grant_exemption("E99", "2027", reason="sabbatical")


def test_a_second_exemption_for_the_same_cycle_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    cio.grant_exemption("E1", "2027", reason="parental leave")

    with refused(InvalidTransition, "E1", "already exempted", "2027"):
        cio.grant_exemption("E1", "2027", reason="again")


def test_an_exemption_in_a_closed_cycle_is_refused(cio: RotationProgram, refused: Refused) -> None:
    cio.close_review_cycle("2027", on=date(2027, 12, 31))

    with refused(InvalidTransition, "2027", "closed"):
        cio.grant_exemption("E1", "2027", reason="late paperwork")
