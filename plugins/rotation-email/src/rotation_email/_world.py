"""What the program knew at a position of its log: people, departments, rotations, mentors.

Messages are written from this, folded from ``state.events(..., upto=position)``, so an
event's message says the same thing however late, and however often, it is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

import attrs
from rotation_domain.consumers import Envelope, StateReader
from rotation_domain.personal_data import FORGOTTEN

__all__ = ["TOPICS", "Person", "RotationFacts", "World"]


def _topic(name: str) -> str:
    return f"rotation_domain:{name}"


TOPICS = frozenset(
    _topic(name)
    for name in (
        "DepartmentRegistered",
        "EmployeeRegistered",
        "EmployeeDetailsChanged",
        "EmployeeForgotten",
        "EmployeeTransferred",
        "EmployeeDeparted",
        "RotationPlanned",
        "RotationRescheduled",
        "RotationStarted",
        "RotationCompleted",
        "RotationCancelled",
        "MentorNominated",
        "MentorAgreed",
        "MentorDeclined",
        "MentorshipReleased",
        "ExemptionGranted",
        "ImprovementProposed",
    )
)
"""The topics a `World` is folded from."""


def _mailable(address: str) -> str:
    """The address to write to: none for a forgotten person (their address reads as such)."""
    return "" if address == FORGOTTEN else address


@attrs.define
class Person:
    """An employee as the directory knew them."""

    code: str
    name: str
    email: str
    department: str
    manager: str | None
    active: bool = True


@attrs.define
class RotationFacts:
    """A rotation as the program knew it."""

    participant: str
    host_department: str
    start: date
    end: date
    status: str = "planned"
    mentorship: UUID | None = None


@attrs.define
class _Mentoring:
    rotation: UUID
    mentor: str
    participant: str
    status: str = "nominated"


@attrs.define
class _Proposal:
    participant: str
    host_department: str
    title: str


@attrs.define
class World:
    """The directory and the rotations, folded from events in log order."""

    departments: dict[str, tuple[str, bool]] = attrs.field(factory=dict)
    people: dict[str, Person] = attrs.field(factory=dict)
    rotations: dict[UUID, RotationFacts] = attrs.field(factory=dict)
    mentorships: dict[UUID, _Mentoring] = attrs.field(factory=dict)
    exemptions: set[tuple[str, str]] = attrs.field(factory=set)
    proposals: dict[UUID, _Proposal] = attrs.field(factory=dict)
    codes: dict[UUID, str] = attrs.field(factory=dict)
    position: int = 0
    """The last position of the log this world has taken into account."""

    @classmethod
    def at(cls, state: StateReader, position: int | None) -> World:
        """What the program knew up to and including ``position`` (now, without one)."""
        return cls().advanced(state, position)

    def advanced(self, state: StateReader, position: int | None) -> World:
        """This world brought forward to ``position`` (the head without one).

        Only the events after `position` are read, so a world kept between deliveries
        costs a page of new events, not the whole log.
        """
        for envelope in state.events(TOPICS, after=self.position, upto=position):
            self.fold(envelope)
        if position is not None:
            self.position = max(self.position, position)
        return self

    @classmethod
    def folded(cls, envelopes: Iterable[Envelope]) -> World:
        """Fold envelopes, in log order, into a world."""
        world = cls()
        for envelope in envelopes:
            world.fold(envelope)
        return world

    def fold(self, envelope: Envelope) -> None:
        """Take one event into account."""
        event, subject, name = envelope.event, envelope.originator_id, envelope.name
        self.position = max(self.position, envelope.position)
        if name == "DepartmentRegistered":
            self.departments[event.code] = (event.name, bool(event.is_it))
        elif name == "EmployeeRegistered":
            self.people[event.code] = Person(
                event.code, event.name, _mailable(event.email), event.department, event.manager
            )
            self.codes[subject] = event.code
        elif name in ("EmployeeDetailsChanged", "EmployeeForgotten"):
            person = self._person_by_id(subject)
            if person is not None and name == "EmployeeDetailsChanged":
                person.name, person.manager = event.name, event.manager
                person.email = _mailable(event.email)
            elif person is not None:  # forgotten: no name, and no mail to them any more
                person.name, person.email = FORGOTTEN, ""
        elif name in ("EmployeeTransferred", "EmployeeDeparted"):
            person = self._person_by_id(subject)
            if person is not None and name == "EmployeeTransferred":
                person.department = event.to_department
            elif person is not None:
                person.active = False
        elif name == "RotationPlanned":
            self.rotations[subject] = RotationFacts(
                event.participant, event.host_department, event.start, event.end
            )
        elif name in ("RotationRescheduled", "RotationStarted", "RotationCompleted"):
            rotation = self.rotations.get(subject)
            if rotation is not None and name == "RotationRescheduled":
                rotation.start, rotation.end = event.start, event.end
            elif rotation is not None:
                rotation.status = "in-progress" if name == "RotationStarted" else "completed"
        elif name == "RotationCancelled":
            if subject in self.rotations:
                self.rotations[subject].status = "cancelled"
        elif name == "MentorNominated":
            self.mentorships[subject] = _Mentoring(
                event.rotation_id, event.mentor, event.participant
            )
            if event.rotation_id in self.rotations:
                self.rotations[event.rotation_id].mentorship = subject
        elif name in ("MentorAgreed", "MentorDeclined", "MentorshipReleased"):
            if subject in self.mentorships:
                self.mentorships[subject].status = {
                    "MentorAgreed": "agreed",
                    "MentorDeclined": "declined",
                    "MentorshipReleased": "released",
                }[name]
        elif name == "ExemptionGranted":
            self.exemptions.add((event.employee, event.cycle))
        elif name == "ImprovementProposed":
            self.proposals[subject] = _Proposal(
                event.participant, event.host_department, event.title
            )

    def _person_by_id(self, aggregate_id: UUID) -> Person | None:
        code = self.codes.get(aggregate_id)
        return self.people.get(code) if code is not None else None

    def department_name(self, code: str) -> str:
        """The department's display name (its code when unknown)."""
        found = self.departments.get(code)
        return found[0] if found else code

    def is_it(self, person: Person) -> bool:
        """Whether the person works in an IT department."""
        found = self.departments.get(person.department)
        return bool(found and found[1])

    def mentor_of(self, rotation: UUID) -> Person | None:
        """The rotation's mentor, nominated or agreed, if it has one."""
        facts = self.rotations.get(rotation)
        if facts is None or facts.mentorship is None:
            return None
        mentoring = self.mentorships.get(facts.mentorship)
        if mentoring is None or mentoring.status not in ("nominated", "agreed"):
            return None
        return self.people.get(mentoring.mentor)

    def manager_of(self, person: Person) -> Person | None:
        """The person's manager, if known and not forgotten."""
        manager = self.people.get(person.manager) if person.manager else None
        return manager if manager is not None and manager.email else None

    def without_rotation(self, start: date, end: date, cycle: str) -> list[Person]:
        """Active IT staff with no rotation (not cancelled) overlapping ``start``-``end``.

        Those exempted from ``cycle`` are left out.
        """
        busy = {
            facts.participant
            for facts in self.rotations.values()
            if facts.status != "cancelled" and facts.start <= end and facts.end >= start
        }
        return [
            person
            for code, person in sorted(self.people.items())
            if person.active
            and self.is_it(person)
            and code not in busy
            and (code, cycle) not in self.exemptions
        ]
