"""Every event records its actor; a command breaking several rules reports them in order.

The documented order: InvalidInput, NotFound, NotAuthorized, InvalidTransition, then
the PolicyViolations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from rotation_domain import (
    ActorRequired,
    InvalidInput,
    InvalidTransition,
    NotAuthorized,
    RotationDomainError,
    RotationProgram,
    SessionKind,
    UnknownEmployee,
    UnknownId,
    open_program,
)

Refused = Callable[..., AbstractContextManager[None]]
Count = Callable[[RotationProgram], int]
CIO = "cio@example.com"
START, END = date(2027, 1, 4), date(2027, 1, 29)


@pytest.fixture
def refused(company: RotationProgram, events_recorded: Count) -> Refused:
    @contextmanager
    def check(error: type[RotationDomainError], *words: str) -> Iterator[None]:
        before = events_recorded(company)
        with pytest.raises(error) as caught:
            yield
        assert type(caught.value) is error
        for word in words:
            assert word in str(caught.value)
        assert events_recorded(company) == before

    return check


def the_log(program: RotationProgram, since: int = 0) -> list[Any]:
    events: list[Any] = []
    start = since + 1
    while page := program.app.notification_log.select(start=start, limit=500):
        events += [program.app.mapper.to_domain_event(n) for n in page]
        start = page[-1].id + 1
    return events


def plan(program: RotationProgram, employee: str = "E1") -> UUID:
    return program.plan_rotation(employee, host_department="FIN", start=START, end=END, actor=CIO)


# Actors


@contextmanager
def recorded_only_by(program: RotationProgram, actor: str) -> Iterator[None]:
    since = program.app.recorder.max_notification_id() or 0
    yield
    recorded = the_log(program, since)
    assert recorded, f"{actor}'s command recorded nothing"
    assert {event.actor for event in recorded} == {actor}


@pytest.mark.parametrize(
    "command",
    [
        lambda p: p.plan_rotation("E1", host_department="FIN", start=START, end=END),
        lambda p: p.set_policy(max_concurrent=2),
        lambda p: p.register_department("LEGAL", name="Legal"),
        lambda p: p.open_review_cycle("2027", start="2027-01-01", end="2027-12-31"),
        lambda p: p.depart_employee("E1"),
    ],
    ids=["plan_rotation", "set_policy", "register_department", "open_review_cycle", "depart"],
)
def test_a_command_without_any_actor_is_refused(
    company: RotationProgram, refused: Refused, command: Callable[[RotationProgram], object]
) -> None:
    with refused(ActorRequired, "actor", "acting_as"):
        command(company)


def test_a_blank_actor_is_refused(company: RotationProgram, refused: Refused) -> None:
    with refused(ActorRequired, "actor"):
        company.plan_rotation("E1", host_department="FIN", start=START, end=END, actor="  ")


def test_acting_as_a_blank_actor_is_refused(company: RotationProgram) -> None:
    with pytest.raises(ActorRequired), company.acting_as(""):
        pass  # pragma: no cover - never reached


def test_the_seeded_company_records_its_actor_on_every_event(company: RotationProgram) -> None:
    assert {event.actor for event in the_log(company)} == {CIO}


def test_an_explicit_actor_wins_over_acting_as(company: RotationProgram) -> None:
    with company.acting_as(CIO), recorded_only_by(company, "planner@example.com"):
        company.plan_rotation(
            "E1", host_department="FIN", start=START, end=END, actor="planner@example.com"
        )


def test_every_event_records_the_actor_of_the_command_that_caused_it(
    company: RotationProgram,
) -> None:
    with recorded_only_by(company, "planner"):
        rotation = company.plan_rotation(
            "E1", host_department="FIN", start=START, end=END, actor="planner"
        )
    with recorded_only_by(company, "cio"):
        mentorship = company.nominate_mentor(rotation, mentor="M1", actor="cio")
    with recorded_only_by(company, "M1"):
        company.accept_mentorship(mentorship, actor="M1")
    with recorded_only_by(company, "office"):
        company.brief_mentor(mentorship, on=date(2027, 1, 2), actor="office")
    with recorded_only_by(company, "lead"):
        company.start_rotation(rotation, on=START, actor="lead")
    with company.acting_as("M1"), recorded_only_by(company, "M1"):
        company.hold_mentor_session(
            mentorship, kind=SessionKind.READING, on=date(2027, 1, 5), topic="the ledger"
        )
    with company.acting_as("E1"), recorded_only_by(company, "E1"):
        company.record_observation(rotation, "Invoices are re-keyed by hand")
        improvement = company.propose_improvement(rotation, title="Route invoices")
    with recorded_only_by(company, "M1"):
        company.adopt_improvement(improvement, on=date(2027, 1, 20), actor="M1")
    with recorded_only_by(company, "lead"):
        company.complete_rotation(rotation, on=END, actor="lead")
    with recorded_only_by(company, "M1"):
        company.conclude_mentorship(mentorship, feedback="A good month", actor="M1")
    with recorded_only_by(company, "hris"):
        company.depart_employee("E1", on=date(2027, 3, 1), actor="hris")


# Error order


def test_an_unknown_rotation_with_a_malformed_date_is_invalid_input(
    company: RotationProgram, refused: Refused
) -> None:
    with refused(InvalidInput, "on", "2027-02-30"):
        company.start_rotation(uuid4(), on="2027-02-30", actor=CIO)


def test_an_unknown_employee_with_a_window_ending_before_it_starts_is_invalid_input(
    company: RotationProgram, refused: Refused
) -> None:
    with refused(InvalidInput, "before the start"):
        company.plan_rotation("E99", host_department="IT", start=END, end=START, actor=CIO)


def test_an_unknown_employee_into_an_it_host_is_unknown_employee(
    company: RotationProgram, refused: Refused
) -> None:
    with refused(UnknownEmployee, "E99"):
        company.plan_rotation(
            "E99", host_department="IT", start=START, end=date(2027, 3, 31), actor=CIO
        )


def test_a_departed_employee_into_an_it_host_is_an_invalid_transition(
    company: RotationProgram, refused: Refused
) -> None:
    company.depart_employee("E1", on=date(2027, 1, 2), actor=CIO)

    with refused(InvalidTransition, "E1", "departed"):
        company.plan_rotation("E1", host_department="IT", start=START, end=END, actor=CIO)


def test_rescheduling_a_cancelled_rotation_too_long_is_an_invalid_transition(
    company: RotationProgram, refused: Refused
) -> None:
    rotation = plan(company)
    company.cancel_rotation(rotation, reason="deadline", actor=CIO)

    with refused(InvalidTransition, "cancelled"):
        company.reschedule_rotation(rotation, start=START, end=date(2027, 3, 31), actor=CIO)


def test_nominating_a_mentor_of_another_department_while_one_is_open_is_an_invalid_transition(
    company: RotationProgram, refused: Refused
) -> None:
    rotation = plan(company)
    company.nominate_mentor(rotation, mentor="M1", actor=CIO)

    with refused(InvalidTransition, "already has mentor"):
        company.nominate_mentor(rotation, mentor="M3", actor=CIO)


def test_adopting_a_rejected_improvement_before_its_proposal_is_invalid_input(
    company: RotationProgram, refused: Refused
) -> None:
    with company.acting_as(CIO):
        rotation = plan(company)
        company.accept_mentorship(company.nominate_mentor(rotation, mentor="M1"))
        company.start_rotation(rotation, on=START)
        improvement = company.propose_improvement(rotation, title="Route", on=date(2027, 1, 10))
        company.reject_improvement(improvement, reason="no budget")

        with refused(InvalidInput, "2027-01-10", "2027-01-09"):
            company.adopt_improvement(improvement, on=date(2027, 1, 9))


@pytest.fixture
def guarded(seed: Callable[[RotationProgram], None]) -> Iterator[RotationProgram]:
    """A seeded program whose authorizer refuses the actor ``intruder``."""

    def authorize(actor: str, action: str, context: dict[str, Any]) -> None:
        if actor == "intruder":
            raise NotAuthorized(f"{actor} may not {action}", actor=actor, action=action)

    with open_program("memory:", today=lambda: date(2027, 1, 1), authorize=authorize) as program:
        seed(program)
        yield program


def test_an_unknown_rotation_named_by_an_unauthorized_actor_is_not_found(
    guarded: RotationProgram, events_recorded: Count
) -> None:
    before = events_recorded(guarded)

    with pytest.raises(UnknownId):
        guarded.start_rotation(uuid4(), on=START, actor="intruder")
    assert events_recorded(guarded) == before


def test_an_unauthorized_actor_is_refused_before_the_state_is_checked(
    guarded: RotationProgram, events_recorded: Count
) -> None:
    rotation = plan(guarded)
    guarded.cancel_rotation(rotation, reason="deadline", actor=CIO)
    before = events_recorded(guarded)

    with pytest.raises(NotAuthorized, match="intruder may not start_rotation"):
        guarded.start_rotation(rotation, on=START, actor="intruder")
    assert events_recorded(guarded) == before


def test_an_unauthorized_actor_is_refused_before_the_rules_are_checked(
    guarded: RotationProgram, events_recorded: Count
) -> None:
    before = events_recorded(guarded)

    with pytest.raises(NotAuthorized):
        guarded.plan_rotation("M1", host_department="IT", start=START, end=END, actor="intruder")
    assert events_recorded(guarded) == before


def test_an_exemption_for_a_non_it_employee_in_a_closed_cycle_is_an_invalid_transition(
    company: RotationProgram, refused: Refused
) -> None:
    with company.acting_as(CIO):
        company.open_review_cycle("2027", start="2027-01-01", end="2027-12-31")
        company.close_review_cycle("2027", on="2027-12-31")

        with refused(InvalidTransition, "closed"):
            company.grant_exemption("M1", "2027", reason="not IT")


@pytest.mark.parametrize("code", ["", "   "])
def test_a_departure_or_transfer_naming_no_employee_is_invalid_input(
    company: RotationProgram, refused: Refused, code: str
) -> None:
    with refused(InvalidInput, "code"):
        company.depart_employee(code, actor=CIO)
    with refused(InvalidInput, "code"):
        company.transfer_employee(code, to_department="NOWHERE", actor=CIO)
