"""An observation's category (ObservationRecorded v2) through `record_observation`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from uuid import UUID

import pytest

from rotation_domain import InvalidInput, InvalidTransition, RotationProgram
from rotation_domain.rotation import OBSERVATION_CATEGORIES

Refused = Callable[..., AbstractContextManager[None]]
START, END = date(2027, 1, 4), date(2027, 1, 29)


def running(program: RotationProgram) -> UUID:
    rotation = program.plan_rotation("E1", host_department="FIN", start=START, end=END)
    mentorship = program.nominate_mentor(rotation, mentor="M1")
    program.accept_mentorship(mentorship)
    program.start_rotation(rotation, on=START)
    return rotation


@pytest.mark.parametrize("category", OBSERVATION_CATEGORIES)
def test_an_observation_is_recorded_with_the_category_given(
    cio: RotationProgram, category: str
) -> None:
    rotation = running(cio)

    cio.record_observation(rotation, "Invoices are re-keyed by hand", category=category)

    [observation] = cio.get(rotation).observations
    assert observation.category == category
    [entry] = [e for e in cio.history(rotation) if e.event_type == "ObservationRecorded"]
    assert entry.data["category"] == category
    assert entry.summary == f"Observation ({category}): Invoices are re-keyed by hand"


def test_an_observation_without_a_category_is_a_general_one(cio: RotationProgram) -> None:
    rotation = running(cio)

    cio.record_observation(rotation, "Invoices are re-keyed by hand")

    assert cio.get(rotation).observations[0].category == "general"


@pytest.mark.parametrize("category", ["security", "", "Process", None, 3])
def test_an_unknown_category_is_invalid_input_naming_the_allowed_ones(
    cio: RotationProgram, refused: Refused, category: object
) -> None:
    rotation = running(cio)

    with refused(InvalidInput, "category", *OBSERVATION_CATEGORIES):
        cio.record_observation(rotation, "Invoices are re-keyed", category=category)  # type: ignore[arg-type]


def test_the_category_is_checked_before_anything_is_loaded(cio: RotationProgram) -> None:
    # An unknown rotation would be UnknownId (exit 3); the bad input is reported first.
    with pytest.raises(InvalidInput) as caught:
        cio.record_observation("00000000-0000-0000-0000-000000000001", "text", category="security")

    assert caught.value.details["field"] == "category"
    assert caught.value.details["allowed"] == OBSERVATION_CATEGORIES


def test_a_category_does_not_lift_the_rule_that_the_rotation_is_in_progress(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = cio.plan_rotation("E1", host_department="FIN", start=START, end=END)

    with refused(InvalidTransition, "planned"):
        cio.record_observation(rotation, "Invoices are re-keyed", category="data")
