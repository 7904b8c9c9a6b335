"""R6: mentors log sessions by kind inside the rotation's window; R7: participants observe."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from uuid import UUID

import pytest

from rotation_domain import (
    InvalidInput,
    InvalidTransition,
    OutsideRotationWindow,
    RotationProgram,
    SessionKind,
)

Refused = Callable[..., AbstractContextManager[None]]
START, END = date(2027, 1, 4), date(2027, 1, 29)


def planned(program: RotationProgram) -> tuple[UUID, UUID]:
    rotation = program.plan_rotation("E1", host_department="FIN", start=START, end=END)
    return rotation, program.nominate_mentor(rotation, mentor="M1")


def running(program: RotationProgram) -> tuple[UUID, UUID]:
    rotation, mentorship = planned(program)
    program.accept_mentorship(mentorship)
    program.start_rotation(rotation, on=START)
    return rotation, mentorship


def session(
    program: RotationProgram, mentorship: UUID, on: date, kind: SessionKind | str = "discussion"
) -> None:
    program.hold_mentor_session(mentorship, kind=kind, on=on, topic="month-end close")


@pytest.mark.parametrize("kind", list(SessionKind))
def test_each_kind_of_session_is_logged_inside_the_window(
    cio: RotationProgram, kind: SessionKind
) -> None:
    _, mentorship = running(cio)

    session(cio, mentorship, date(2027, 1, 6), kind)

    [logged] = cio.get(mentorship).sessions
    assert (logged.kind, logged.on, logged.topic) == (kind, date(2027, 1, 6), "month-end close")


def test_a_session_kind_may_be_given_as_its_text(cio: RotationProgram) -> None:
    _, mentorship = running(cio)

    session(cio, mentorship, date(2027, 1, 6), "hands-on")

    assert cio.get(mentorship).sessions[0].kind is SessionKind.HANDS_ON


def test_sessions_on_the_first_and_last_day_of_the_window_are_logged(
    cio: RotationProgram,
) -> None:
    _, mentorship = running(cio)

    session(cio, mentorship, START)
    session(cio, mentorship, END)

    assert [s.on for s in cio.get(mentorship).sessions] == [START, END]


def test_a_session_after_the_window_is_refused(cio: RotationProgram, refused: Refused) -> None:
    _, mentorship = running(cio)

    with refused(OutsideRotationWindow, "2027-01-30", "2027-01-04..2027-01-29", "R6"):
        session(cio, mentorship, date(2027, 1, 30))


def test_a_session_dated_before_the_window_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    _, mentorship = running(cio)

    with refused(OutsideRotationWindow, "2027-01-03", "2027-01-04..2027-01-29", "R6"):
        session(cio, mentorship, date(2027, 1, 3))


def test_a_session_before_the_rotation_started_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    _, mentorship = planned(cio)
    cio.accept_mentorship(mentorship)

    with refused(InvalidTransition, "planned", "in-progress or completed"):
        session(cio, mentorship, START)


def test_an_unknown_session_kind_is_invalid_input(cio: RotationProgram, refused: Refused) -> None:
    _, mentorship = running(cio)

    with refused(InvalidInput, "lecture", "discussion, reading, hands-on"):
        session(cio, mentorship, date(2027, 1, 6), "lecture")


def test_a_session_without_a_topic_is_invalid_input(cio: RotationProgram, refused: Refused) -> None:
    _, mentorship = running(cio)

    with refused(InvalidInput, "topic"):
        cio.hold_mentor_session(mentorship, kind=SessionKind.READING, on=date(2027, 1, 6), topic="")


def test_a_mentorship_that_was_not_agreed_cannot_log_sessions(
    cio: RotationProgram, refused: Refused
) -> None:
    _, mentorship = planned(cio)

    with refused(InvalidTransition, "nominated", "agreed"):
        session(cio, mentorship, START)


def test_a_declined_mentorship_cannot_log_sessions(cio: RotationProgram, refused: Refused) -> None:
    _, mentorship = planned(cio)
    cio.decline_mentorship(mentorship, reason="month-end close")

    with refused(InvalidTransition, "declined"):
        session(cio, mentorship, START)


def test_an_observation_is_recorded_while_the_rotation_is_in_progress(
    cio: RotationProgram,
) -> None:
    rotation, _ = running(cio)

    cio.record_observation(rotation, "  Invoices are re-keyed by hand  ", on=date(2027, 1, 7))

    [observation] = cio.get(rotation).observations
    assert (observation.text, observation.on) == ("Invoices are re-keyed by hand", date(2027, 1, 7))


def test_an_observation_needs_no_date(cio: RotationProgram) -> None:
    rotation, _ = running(cio)

    cio.record_observation(rotation, "Invoices are re-keyed by hand")

    assert cio.get(rotation).observations[0].on is None


def test_an_observation_on_a_planned_rotation_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation, _ = planned(cio)

    with refused(InvalidTransition, "planned", "in-progress"):
        cio.record_observation(rotation, "Invoices are re-keyed by hand")


def test_an_observation_dated_outside_the_window_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation, _ = running(cio)

    with refused(OutsideRotationWindow, "2027-02-01", "2027-01-04..2027-01-29"):
        cio.record_observation(rotation, "Invoices are re-keyed by hand", on=date(2027, 2, 1))


def test_an_empty_observation_is_invalid_input(cio: RotationProgram, refused: Refused) -> None:
    rotation, _ = running(cio)

    with refused(InvalidInput, "text"):
        cio.record_observation(rotation, "   ")


def test_a_session_or_observation_before_a_late_arrival_is_refused(
    cio: RotationProgram, refused: Refused
) -> None:
    rotation, mentorship = planned(cio)
    cio.accept_mentorship(mentorship)
    cio.start_rotation(rotation, on=date(2027, 1, 10))
    with refused(OutsideRotationWindow, "2027-01-05", "arrived on 2027-01-10", "R6"):
        session(cio, mentorship, date(2027, 1, 5))
    with refused(OutsideRotationWindow, "arrived on 2027-01-10"):
        cio.record_observation(rotation, "too early", on=date(2027, 1, 9))
    session(cio, mentorship, date(2027, 1, 10))
