"""Stored events written by version 1 of the library must stay readable, forever.

``tests/golden/events-v1.jsonl`` holds the stored events of one full story (see
``tests/golden/make_golden.py``), exactly as version 1 recorded them: topic, originator
id and version, and the state as the mapper's orjson text. These tests read that file;
they never regenerate it. Later versions of the library must keep passing them
unchanged: rename a class, add a field or change a type only with a stable ``TOPIC``,
a default or an upcaster, so that events already stored in someone's database still
map back and still rebuild the same aggregates. A new stored format gets a new golden
file next to this one; this one stays.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment, get_topic, resolve_topic

from adapters.mapper import CattrsMapper
from rotation_domain import (
    DateRange,
    Department,
    Employee,
    Improvement,
    ImprovementStatus,
    MentorSession,
    Mentorship,
    MentorshipStatus,
    MonthRoster,
    Policy,
    Program,
    ReviewCycle,
    Rotation,
    RotationProgram,
    RotationStatus,
    SessionKind,
    open_program,
)
from rotation_domain.employee import Role
from rotation_domain.policies import Booking
from rotation_domain.program import PROGRAM_ID, Exemption

GOLDEN = Path(__file__).parents[1] / "golden" / "events-v1.jsonl"
LATER_GOLDEN = sorted((Path(__file__).parents[1] / "golden").glob("events-v[2-9]*.jsonl"))
"""Golden files of later versions: events of topics added since version 1."""
AGGREGATES = (Program, Department, Employee, MonthRoster, Rotation, Mentorship, Improvement)


# Reading the file.


def golden_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]


def later_records() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in LATER_GOLDEN
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def as_stored_event(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(record["originator_id"]),
        originator_version=record["originator_version"],
        topic=record["topic"],
        state=record["state"].encode("utf-8"),
    )


def state_of(record: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(record["state"])
    return state


def ids_where(topic: str, **fields: str) -> list[UUID]:
    """Ids of the aggregates whose events of that topic have those field values, in order."""
    return [
        UUID(record["originator_id"])
        for record in golden_records()
        if record["topic"] == f"rotation_domain:{topic}"
        and all(state_of(record).get(name) == value for name, value in fields.items())
    ]


def the_one(topic: str, **fields: str) -> UUID:
    [found] = ids_where(topic, **fields)
    return found


def library_event_classes() -> set[type[Aggregate.Event]]:
    """Every event class nested in an aggregate class of the library (not the bases)."""
    return {
        value
        for aggregate in AGGREGATES
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event"
    }


@pytest.fixture(scope="module")
def mapper() -> Iterator[CattrsMapper]:
    """The mapper, built the way eventsourcing's infrastructure factory builds it."""
    factory = InfrastructureFactory.construct(
        Environment("RotationProgram", {"MAPPER_TOPIC": "adapters.mapper:CattrsMapper"})
    )
    built = factory.mapper()
    assert type(built) is CattrsMapper
    yield built
    factory.close()


@pytest.fixture
def replayed(store_url: str) -> Iterator[RotationProgram]:
    """A fresh program whose store holds the golden events, inserted by its recorder."""
    with open_program(store_url, today=lambda: date(2027, 7, 1)) as program:
        program.app.recorder.insert_events([as_stored_event(r) for r in golden_records()])
        yield program


# The file itself.


def test_the_golden_file_holds_an_event_of_every_topic_of_the_library() -> None:
    classes = library_event_classes()
    topics = {get_topic(cls) for cls in classes}
    assert all("TOPIC" in vars(cls) for cls in classes), "every event declares a stable TOPIC"
    assert len(topics) == len(classes) == 36
    recorded = {record["topic"] for record in [*golden_records(), *later_records()]}
    assert topics - recorded == set(), "events of these topics are missing from the golden file"
    assert recorded - topics == set(), "the golden file names topics the library does not have"


def test_the_golden_file_is_a_complete_history_of_each_aggregate() -> None:
    versions: dict[str, list[int]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    for record in golden_records():
        assert set(record) == {"originator_id", "originator_version", "topic", "state"}
        versions[record["originator_id"]].append(record["originator_version"])
        if record["originator_version"] == 1:
            kinds[state_of(record)["originator_topic"].split(":")[-1]] += 1
    assert all(found == list(range(1, len(found) + 1)) for found in versions.values())
    assert sum(len(found) for found in versions.values()) == 123
    assert kinds == {
        "Program": 1, "Department": 6, "Employee": 12, "MonthRoster": 6,
        "Rotation": 5, "Mentorship": 7, "Improvement": 4,
    }  # fmt: skip
    assert sum(kinds.values()) == len(versions)


# Mapping each stored event back.


def test_every_golden_event_maps_back_to_its_class_with_typed_fields(
    mapper: CattrsMapper,
) -> None:
    seen: set[type[Any]] = set()
    for record in golden_records():
        event: Any = mapper.to_domain_event(as_stored_event(record))
        seen.add(type(event))
        assert type(event) is resolve_topic(record["topic"])
        assert event.originator_id == UUID(record["originator_id"])
        assert event.originator_version == record["originator_version"]
        assert isinstance(event.actor, str)
        assert event.actor
        assert type(event.timestamp) is datetime
        assert event.timestamp.tzinfo is not None
        assert event.timestamp.year == 2027
        for name in ("on", "start", "end"):
            value = getattr(event, name, None)
            assert value is None or type(value) is date, (record["topic"], name)
        if isinstance(event, Program.ProgramPolicySet | Program.ProgramLaunched):
            assert type(event.policy) is Policy
        if isinstance(event, MonthRoster.RotationBooked):
            assert type(event.booking) is Booking
            assert type(event.booking.period) is DateRange
            assert type(event.booking.rotation_id) is UUID
        if isinstance(event, Employee.EmployeeAssigned):
            assert type(event.role) is Role
            assert type(event.rotation_id) is UUID
        if isinstance(event, Mentorship.MentorSessionHeld):
            assert type(event.kind) is SessionKind
        if isinstance(event, Rotation.MentorshipLinked):
            assert type(event.mentorship_id) is UUID
        if isinstance(event, Mentorship.MentorNominated | Improvement.ImprovementProposed):
            assert type(event.rotation_id) is UUID
    for record in later_records():
        event = mapper.to_domain_event(as_stored_event(record))
        assert type(event) is resolve_topic(record["topic"])
        seen.add(type(event))
    assert seen == library_event_classes()


# Rebuilding every aggregate from them.


def test_the_golden_events_rebuild_the_program_and_the_directory(
    replayed: RotationProgram,
) -> None:
    program: Any = replayed.get(PROGRAM_ID)
    assert program.version == 5
    assert program.policy == Policy(
        max_length_days=31,
        max_concurrent=4,
        max_guests_per_department=1,
        max_mentees_per_mentor=1,
        require_briefing=True,
    )
    assert replayed.policy() == program.policy
    assert program.cycles == {
        "2027-H1": ReviewCycle("2027-H1", DateRange(date(2027, 1, 1), date(2027, 6, 30)), True)
    }
    assert list(program.exemptions.values()) == [Exemption("E6", "2027-H1")]
    assert program.is_exempted("E6", "2027-H1")

    departments: dict[str, Any] = {
        code: replayed.get(Department.id_for(code))
        for code in ("IT", "ITOPS", "FIN", "OPS", "HR", "LEGAL")
    }
    assert {code for code, d in departments.items() if d.is_it} == {"IT", "ITOPS"}
    assert departments["FIN"].name == "Finance"

    people: dict[str, Any] = {
        code: replayed.get(Employee.id_for(code))
        for code in [f"E{n}" for n in range(1, 7)] + [f"M{n}" for n in range(1, 7)]
    }
    assert [code for code, person in people.items() if not person.active] == ["E5"]
    assert people["M5"].department == "HR"
    assert people["E5"].department == "ITOPS"
    assert people["E1"].manager == "E0"
    assert people["M1"].manager is None
    assert {code: len(person.assignments) for code, person in people.items()} == {
        "E1": 1, "E2": 1, "E3": 1, "E4": 1, "E5": 1, "E6": 0,
        "M1": 1, "M2": 0, "M3": 3, "M4": 1, "M5": 1, "M6": 1,
    }  # fmt: skip
    assert [a.role for a in people["M3"].assignments] == [Role.MENTOR] * 3


def test_the_golden_events_rebuild_every_rotation(replayed: RotationProgram) -> None:
    rotations: dict[str, Any] = {
        code: replayed.get(the_one("RotationPlanned", participant=code))
        for code in ("E1", "E2", "E3", "E4", "E5")
    }
    assert {code: r.status for code, r in rotations.items()} == {
        "E1": RotationStatus.COMPLETED,
        "E2": RotationStatus.COMPLETED,
        "E3": RotationStatus.CANCELLED,
        "E4": RotationStatus.COMPLETED,
        "E5": RotationStatus.CANCELLED,
    }
    assert {code: r.host_department for code, r in rotations.items()} == {
        "E1": "FIN", "E2": "OPS", "E3": "HR", "E4": "LEGAL", "E5": "OPS",
    }  # fmt: skip
    assert {code: len(r.observations) for code, r in rotations.items()} == {
        "E1": 1, "E2": 1, "E3": 0, "E4": 0, "E5": 0,
    }  # fmt: skip
    assert {code: len(r.improvement_ids) for code, r in rotations.items()} == {
        "E1": 1, "E2": 2, "E3": 0, "E4": 1, "E5": 0,
    }  # fmt: skip

    first = rotations["E1"]
    assert first.period == DateRange(date(2027, 1, 4), date(2027, 1, 29))
    assert (first.started_on, first.finished_on) == (date(2027, 1, 4), date(2027, 1, 29))
    assert first.observations[0].text == "Invoices are re-keyed by hand from e-mail"
    assert first.observations[0].on == date(2027, 1, 7)
    assert first.mentor == "M1"
    assert first.flags == ()

    moved = rotations["E2"]
    assert moved.period == DateRange(date(2027, 3, 1), date(2027, 3, 26))
    assert moved.started_on == date(2027, 3, 1)
    assert moved.observations[0].on is None
    assert moved.mentorship_id == ids_where("MentorNominated", participant="E2")[1]

    called_off = rotations["E3"]
    assert called_off.finished_on == date(2027, 3, 15)
    assert called_off.started_on is None

    handed_over = rotations["E4"]
    assert handed_over.mentor == "M6"
    assert len(handed_over.flags) == 1
    assert "M5" in handed_over.flags[0]

    departed = rotations["E5"]
    assert departed.started_on is None
    assert departed.finished_on == date(2027, 6, 1)


def test_the_golden_events_rebuild_every_mentorship(replayed: RotationProgram) -> None:
    def mentorships(participant: str) -> list[Any]:
        return [replayed.get(i) for i in ids_where("MentorNominated", participant=participant)]

    [source] = mentorships("E1")
    assert source.status is MentorshipStatus.CONCLUDED
    assert source.briefed_on == date(2027, 1, 2)
    assert [type(s) for s in source.sessions] == [MentorSession] * 3
    assert [s.kind for s in source.sessions] == [
        SessionKind.DISCUSSION,
        SessionKind.READING,
        SessionKind.HANDS_ON,
    ]
    assert [s.on for s in source.sessions] == [date(2027, 1, d) for d in (6, 8, 12)]
    assert source.feedback == "E1 asked the right questions and fixed a real problem."

    declined, agreed = mentorships("E2")
    assert (declined.mentor, agreed.mentor) == ("M3", "M3")
    assert declined.status is MentorshipStatus.DECLINED
    assert declined.sessions == ()
    assert agreed.status is MentorshipStatus.AGREED
    assert agreed.briefed_on == date(2027, 2, 25)
    assert [s.kind for s in agreed.sessions] == [SessionKind.HANDS_ON]

    [cancelled] = mentorships("E3")
    assert cancelled.status is MentorshipStatus.RELEASED

    released, successor = mentorships("E4")
    assert (released.mentor, successor.mentor) == ("M5", "M6")
    assert released.status is MentorshipStatus.RELEASED
    assert released.briefed_on == date(2027, 4, 28)
    assert successor.status is MentorshipStatus.AGREED
    assert len(successor.sessions) == 1

    [departed] = mentorships("E5")
    assert departed.status is MentorshipStatus.RELEASED
    assert departed.briefed_on is None


def test_the_golden_events_rebuild_every_improvement(replayed: RotationProgram) -> None:
    improvements: dict[str, Any] = {
        title: replayed.get(the_one("ImprovementProposed", title=title))
        for title in (
            "Route invoices automatically",
            "Scan stock with phones",
            "Buy barcode scanners",
            "A contract template library",
        )
    }
    adopted = improvements["Route invoices automatically"]
    assert adopted.status is ImprovementStatus.ADOPTED
    assert (adopted.proposed_on, adopted.decided_on) == (date(2027, 1, 20), date(2027, 2, 15))
    assert adopted.host_department == "FIN"
    assert adopted.description.startswith("Parse the supplier e-mails")

    rejected = improvements["Scan stock with phones"]
    assert rejected.status is ImprovementStatus.REJECTED
    assert rejected.decided_on == date(2027, 3, 12)
    assert rejected.reason == "Needs a budget we do not have this year"

    withdrawn = improvements["Buy barcode scanners"]
    assert withdrawn.status is ImprovementStatus.WITHDRAWN
    assert withdrawn.reason == "Superseded by the vendor's own tool"
    assert not withdrawn.counts_as_payback

    assert improvements["A contract template library"].status is ImprovementStatus.PROPOSED
    assert {i.participant for i in improvements.values()} == {"E1", "E2", "E4"}


def test_the_golden_events_rebuild_every_month_roster(replayed: RotationProgram) -> None:
    rosters: dict[str, Any] = {
        month: replayed.get(MonthRoster.id_for(month))
        for month in ("2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06")
    }
    rotation_of = {
        code: the_one("RotationPlanned", participant=code) for code in ("E1", "E2", "E4")
    }
    assert {month: len(r.bookings) for month, r in rosters.items()} == {
        "2027-01": 1, "2027-02": 0, "2027-03": 1, "2027-04": 0, "2027-05": 1, "2027-06": 0,
    }  # fmt: skip
    assert rosters["2027-01"].bookings == {
        rotation_of["E1"]: Booking(
            rotation_of["E1"], "E1", "FIN", DateRange(date(2027, 1, 4), date(2027, 1, 29)), "M1"
        )
    }
    [moved] = rosters["2027-03"].bookings.values()
    assert (moved.rotation_id, moved.mentor) == (rotation_of["E2"], "M3")
    assert moved.period == DateRange(date(2027, 3, 1), date(2027, 3, 26))
    [handed_over] = rosters["2027-05"].bookings.values()
    assert (handed_over.rotation_id, handed_over.mentor) == (rotation_of["E4"], "M6")
    assert {month: r.version for month, r in rosters.items()} == {
        "2027-01": 3, "2027-02": 5, "2027-03": 3, "2027-04": 4, "2027-05": 5, "2027-06": 4,
    }  # fmt: skip
