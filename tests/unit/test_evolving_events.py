"""The worked example of docs/evolving-events.md: ObservationRecorded version 2.

Version 2 added ``category``. Version-1 events stored before it (the golden file
``tests/golden/events-v1.jsonl`` holds two, exactly as version 1 wrote them) still load:
the mapper sees no ``class_version`` in their state, calls ``upcast_v1_v2`` and gets
``category == "general"``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from adapters.mapper import CattrsMapper
from rotation_domain import (
    DateRange,
    InvalidInput,
    MentorshipStatus,
    Rotation,
    RotationProgram,
)
from rotation_domain.rotation import OBSERVATION_CATEGORIES, Observation

GOLDEN = Path(__file__).parents[1] / "golden" / "events-v1.jsonl"
TOPIC = "rotation_domain:ObservationRecorded"


@pytest.fixture
def mapper() -> CattrsMapper:
    factory = InfrastructureFactory.construct(
        Environment("RotationProgram", {"MAPPER_TOPIC": "adapters.mapper:CattrsMapper"})
    )
    built = factory.mapper()
    assert isinstance(built, CattrsMapper)
    return built


def stored_v1_observations() -> list[StoredEvent]:
    records = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    return [
        StoredEvent(
            originator_id=UUID(r["originator_id"]),
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=r["state"].encode(),
        )
        for r in records
        if r["topic"] == TOPIC
    ]


def test_the_golden_file_holds_version_1_observations_without_a_category() -> None:
    stored = stored_v1_observations()
    assert len(stored) == 2
    for event in stored:
        state = orjson.loads(event.state)
        assert "class_version" not in state
        assert "category" not in state


def test_a_stored_version_1_observation_loads_as_a_general_one(mapper: CattrsMapper) -> None:
    for stored in stored_v1_observations():
        event = mapper.to_domain_event(stored)
        assert isinstance(event, Rotation.ObservationRecorded)
        assert event.category == "general"
        assert event.text
        assert event.actor


def test_a_version_2_observation_is_stored_with_its_class_version_and_category(
    mapper: CattrsMapper,
) -> None:
    [v1] = stored_v1_observations()[:1]
    event = mapper.to_domain_event(v1)
    upgraded = Rotation.ObservationRecorded(
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        timestamp=event.timestamp,
        actor=event.actor,
        text=event.text,
        on=event.on,
        category="tooling",
    )
    stored = mapper.to_stored_event(upgraded)
    state = orjson.loads(stored.state)
    assert state["class_version"] == 2
    assert state["category"] == "tooling"
    again = mapper.to_domain_event(stored)
    assert again == upgraded, "a version-2 state is not upcast again"


def test_a_rotation_replayed_from_version_1_events_has_general_observations(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        rotation_id = company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = company.nominate_mentor(rotation_id, mentor="M1")
    with company.acting_as("M1"):
        company.accept_mentorship(mentorship)
    with company.acting_as("cio@example.com"):
        company.start_rotation(rotation_id, on=date(2027, 1, 4))
    with company.acting_as("E1"):
        company.record_observation(rotation_id, "Invoices re-keyed")
    rotation = company.get(rotation_id)
    assert isinstance(rotation, Rotation)
    assert rotation.observations == (Observation("Invoices re-keyed", None, "general"),)
    [entry] = list(company.timeline(event_types=["ObservationRecorded"]))
    assert entry.data["category"] == "general"


def started_rotation() -> Rotation:
    rotation = Rotation.plan(
        "E1", "FIN", DateRange(date(2027, 1, 4), date(2027, 1, 29)), actor="cio@example.com"
    )
    rotation.start(
        date(2027, 1, 4),
        mentor_status=MentorshipStatus.AGREED,
        mentor_briefed=True,
        require_briefing=False,
        actor="cio@example.com",
    )
    return rotation


def test_the_aggregate_records_a_category_and_refuses_an_unknown_one() -> None:
    rotation = started_rotation()
    rotation.record_observation("No shared calendar", None, actor="E1", category="tooling")
    assert rotation.observations == (Observation("No shared calendar", None, "tooling"),)
    with pytest.raises(InvalidInput, match="category must be one of"):
        rotation.record_observation("?", None, actor="E1", category="gossip")
    assert len(rotation.observations) == 1
    assert set(OBSERVATION_CATEGORIES) >= {"general", "tooling"}
