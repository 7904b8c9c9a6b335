"""R1: IT staff rotate into another, non-IT department."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date

import pytest

from rotation_domain import (
    HostDepartmentNotEligible,
    NotAnITEmployee,
    RotationProgram,
    RotationStatus,
)

Refused = Callable[..., AbstractContextManager[None]]


def plan(program: RotationProgram, employee: str, host: str) -> object:
    return program.plan_rotation(
        employee, host_department=host, start=date(2027, 1, 4), end=date(2027, 1, 29)
    )


def test_an_it_employee_may_rotate_into_a_non_it_department(cio: RotationProgram) -> None:
    rotation = plan(cio, "E1", "FIN")

    planned = cio.get(rotation)
    assert planned.status is RotationStatus.PLANNED
    assert (planned.participant, planned.host_department) == ("E1", "FIN")


def test_staff_of_the_second_it_department_may_rotate_too(cio: RotationProgram) -> None:
    rotation = plan(cio, "E5", "HR")

    assert cio.get(rotation).participant == "E5"


def test_an_employee_outside_it_is_refused(cio: RotationProgram, refused: Refused) -> None:
    with refused(NotAnITEmployee, "M1", "FIN", "R1"):
        plan(cio, "M1", "OPS")


def test_an_it_department_cannot_host_a_rotation(cio: RotationProgram, refused: Refused) -> None:
    with refused(HostDepartmentNotEligible, "ITOPS", "R1"):
        plan(cio, "E1", "ITOPS")


def test_an_employee_cannot_rotate_into_their_own_department(
    cio: RotationProgram, refused: Refused
) -> None:
    with refused(HostDepartmentNotEligible, "IT", "R1"):
        plan(cio, "E1", "IT")


def test_refusals_carry_the_rule_they_enforce(cio: RotationProgram) -> None:
    with pytest.raises(NotAnITEmployee) as caught:
        plan(cio, "M3", "FIN")

    assert caught.value.rule == "R1"
    assert caught.value.details["employee"] == "M3"
