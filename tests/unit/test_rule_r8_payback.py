"""R8: a rotation is completed only with an improvement proposed; the host adopts or rejects it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from uuid import UUID

from rotation_domain import (
    ImprovementRequired,
    ImprovementStatus,
    InvalidInput,
    InvalidTransition,
    RotationProgram,
    RotationStatus,
)

Refused = Callable[..., AbstractContextManager[None]]
START, END = date(2027, 1, 4), date(2027, 1, 29)


def running(program: RotationProgram) -> UUID:
    rotation = program.plan_rotation("E1", host_department="FIN", start=START, end=END)
    program.accept_mentorship(program.nominate_mentor(rotation, mentor="M1"))
    program.start_rotation(rotation, on=START)
    return rotation


def propose(program: RotationProgram, rotation: UUID, on: date | None = None) -> UUID:
    return program.propose_improvement(
        rotation, title="Route invoices automatically", description="Parse the e-mails", on=on
    )


def test_a_rotation_without_an_improvement_cannot_be_completed(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = running(cio)

    with refused(ImprovementRequired, "E1", "no improvement", "R8"):
        cio.complete_rotation(rotation, on=END)
    assert cio.get(rotation).status is RotationStatus.IN_PROGRESS


def test_a_rotation_whose_only_improvement_was_withdrawn_cannot_be_completed(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = running(cio)
    cio.withdraw_improvement(propose(cio, rotation), reason="duplicate")

    with refused(ImprovementRequired, "R8"):
        cio.complete_rotation(rotation, on=END)


def test_a_rotation_with_an_improvement_proposed_is_completed(cio: RotationProgram) -> None:
    rotation = running(cio)
    propose(cio, rotation)

    cio.complete_rotation(rotation, on=END)

    completed = cio.get(rotation)
    assert (completed.status, completed.finished_on) == (RotationStatus.COMPLETED, END)


def test_a_rejected_improvement_still_counts_as_payback(cio: RotationProgram) -> None:
    rotation = running(cio)
    cio.reject_improvement(propose(cio, rotation), reason="no budget")

    cio.complete_rotation(rotation, on=END)

    assert cio.get(rotation).status is RotationStatus.COMPLETED


def test_a_rotation_that_has_not_started_cannot_be_completed(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = cio.plan_rotation("E1", host_department="FIN", start=START, end=END)

    with refused(InvalidTransition, "planned", "in-progress"):
        cio.complete_rotation(rotation, on=END)


def test_an_improvement_cannot_be_proposed_before_the_rotation_starts(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = cio.plan_rotation("E1", host_department="FIN", start=START, end=END)

    with refused(InvalidTransition, "planned"):
        propose(cio, rotation)


def test_a_completion_dated_before_the_start_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = running(cio)
    propose(cio, rotation)

    with refused(InvalidTransition, "2027-01-04", "2027-01-03"):
        cio.complete_rotation(rotation, on=date(2027, 1, 3))


def test_an_improvement_without_a_title_is_invalid_input(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = running(cio)

    with refused(InvalidInput, "title"):
        cio.propose_improvement(rotation, title=" ")


def test_a_second_improvement_can_be_withdrawn_after_completion(cio: RotationProgram) -> None:
    rotation = running(cio)
    kept, extra = propose(cio, rotation), propose(cio, rotation)
    cio.complete_rotation(rotation, on=END)

    cio.withdraw_improvement(extra)

    assert cio.get(extra).status is ImprovementStatus.WITHDRAWN
    assert cio.get(kept).status is ImprovementStatus.PROPOSED


def test_the_only_improvement_of_a_completed_rotation_cannot_be_withdrawn(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation = running(cio)
    improvement = propose(cio, rotation)
    cio.complete_rotation(rotation, on=END)

    with refused(ImprovementRequired, "only payback", "R8"):
        cio.withdraw_improvement(improvement)
    assert cio.get(improvement).status is ImprovementStatus.PROPOSED


def test_the_host_department_adopts_an_improvement_on_a_date(cio: RotationProgram) -> None:
    improvement = propose(cio, running(cio), on=date(2027, 1, 10))

    cio.adopt_improvement(improvement, on=date(2027, 2, 15), actor="M1")

    adopted = cio.get(improvement)
    assert (adopted.status, adopted.decided_on) == (ImprovementStatus.ADOPTED, date(2027, 2, 15))


def test_an_improvement_may_be_adopted_on_the_day_it_was_proposed(cio: RotationProgram) -> None:
    improvement = propose(cio, running(cio), on=date(2027, 1, 10))

    cio.adopt_improvement(improvement, on=date(2027, 1, 10))

    assert cio.get(improvement).status is ImprovementStatus.ADOPTED


def test_the_host_department_rejects_an_improvement_with_a_reason(cio: RotationProgram) -> None:
    improvement = propose(cio, running(cio))

    cio.reject_improvement(improvement, reason="no budget this year")

    rejected = cio.get(improvement)
    assert (rejected.status, rejected.reason) == (ImprovementStatus.REJECTED, "no budget this year")


def test_a_rejection_without_a_reason_is_invalid_input(
    cio: RotationProgram, refused: Refused
) -> None:
    improvement = propose(cio, running(cio))

    with refused(InvalidInput, "reason"):
        cio.reject_improvement(improvement, reason="")


def test_a_rejected_improvement_cannot_be_adopted(cio: RotationProgram, refused: Refused) -> None:
    improvement = propose(cio, running(cio))
    cio.reject_improvement(improvement, reason="no budget")

    with refused(InvalidTransition, "adopt", "rejected"):
        cio.adopt_improvement(improvement, on=date(2027, 2, 15))


def test_an_adopted_improvement_cannot_be_withdrawn(cio: RotationProgram, refused: Refused) -> None:
    improvement = propose(cio, running(cio))
    cio.adopt_improvement(improvement, on=date(2027, 2, 15))

    with refused(InvalidTransition, "withdraw", "adopted"):
        cio.withdraw_improvement(improvement)


def test_an_adoption_dated_before_the_proposal_is_invalid_input(
    cio: RotationProgram, refused: Refused
) -> None:
    improvement = propose(cio, running(cio), on=date(2027, 1, 10))

    with refused(InvalidInput, "2027-01-10", "2027-01-09"):
        cio.adopt_improvement(improvement, on=date(2027, 1, 9))
