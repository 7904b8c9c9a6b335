"""Time travel: aggregates and views as the program knew them at a past moment."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rotation_domain import InvalidInput, RotationProgram, RotationStatus, UnknownId
from rotation_domain.default_views.participation import ParticipationStatus

MARCH_15 = date(2027, 3, 15)


def test_state_at_gives_an_aggregate_as_it_was_at_a_moment_or_a_version(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        rotation = company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 3, 1), end=date(2027, 3, 20)
        )
        planned = datetime.now(UTC)
        company.reschedule_rotation(rotation, start=date(2027, 3, 10), end=date(2027, 3, 25))
        company.cancel_rotation(rotation, reason="budget")
    then = company.state_at(rotation, at=planned)
    assert then.period.start == date(2027, 3, 1)
    assert then.status == RotationStatus.PLANNED
    assert company.state_at(rotation, version=2).period.start == date(2027, 3, 10)
    assert company.state_at(rotation, version=3).status == RotationStatus.CANCELLED
    assert company.get(rotation).status == RotationStatus.CANCELLED, "the present is untouched"
    with pytest.raises(UnknownId, match="no version 9"):
        company.state_at(rotation, version=9)
    with pytest.raises(UnknownId, match="had been recorded"):
        company.state_at(rotation, at=datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput):
        company.state_at(rotation)
    with pytest.raises(InvalidInput, match="time zone"):
        company.state_at(rotation, at=datetime(2027, 1, 1))


def test_capacity_as_of_a_past_moment_shows_who_was_away_as_then_known(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        first = company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 3, 8), end=date(2027, 3, 26)
        )
        known_on_march_1 = datetime.now(UTC)
        company.cancel_rotation(first, reason="moved to April")
        company.plan_rotation(
            "E2", host_department="OPS", start=date(2027, 3, 15), end=date(2027, 3, 31)
        )
    past = company.as_of(known_on_march_1).views.capacity(on=MARCH_15)
    assert [a.participant for a in past.away] == ["E1"]
    assert past.program.count == 1
    now = company.views.capacity(on=MARCH_15)
    assert [a.participant for a in now.away] == ["E2"]
    assert company.as_of(datetime.now(UTC)).views.capacity(on=MARCH_15) == now
    ranged = company.as_of(known_on_march_1).views.capacity.range(MARCH_15, date(2027, 3, 16))
    assert [len(r.away) for r in ranged] == [1, 1]


def test_participation_as_of_a_past_moment(company: RotationProgram) -> None:
    with company.acting_as("cio@example.com"):
        company.open_review_cycle("2027-H1", start=date(2027, 1, 1), end=date(2027, 6, 30))
        before_any_plan = datetime.now(UTC)
        company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 3, 8), end=date(2027, 3, 26)
        )
    past = {
        r.employee: r.status for r in company.as_of(before_any_plan).views.participation("2027-H1")
    }
    now = {r.employee: r.status for r in company.views.participation("2027-H1")}
    assert past["E1"] == ParticipationStatus.NONE_PLANNED
    assert now["E1"] == ParticipationStatus.PLANNED


def test_the_past_can_be_named_by_log_position(company: RotationProgram) -> None:
    with company.acting_as("cio@example.com"):
        rotation = company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 3, 8), end=date(2027, 3, 26)
        )
        position = company.app.recorder.max_notification_id()
        company.cancel_rotation(rotation, reason="no")
    past = company.as_of(position=position)
    assert [a.participant for a in past.views.capacity(on=MARCH_15).away] == ["E1"]
    assert past.state(rotation).status == RotationStatus.PLANNED
    assert "capacity" in past.views.names()
    with pytest.raises(AttributeError, match="no view is named"):
        _ = past.views.nonsense
    with pytest.raises(InvalidInput):
        company.as_of()
