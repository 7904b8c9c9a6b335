"""The Mentorship aggregate: a host-department mentor guiding one participant (R4-R6)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID, uuid4

from rotation_domain._aggregate import ProgramAggregate
from rotation_domain.errors import InvalidTransition
from rotation_domain.values import MentorSession, MentorshipStatus, SessionKind

__all__ = ["Mentorship"]

_OPEN = (MentorshipStatus.NOMINATED, MentorshipStatus.AGREED)


class Mentorship(ProgramAggregate, created_event_name="MentorNominated"):
    """A mentor asked to guide a participant through discussions, reading and hands-on work."""

    TOPIC = "rotation_domain:Mentorship"

    rotation_id: UUID
    mentor: str
    participant: str
    host_department: str
    status: MentorshipStatus
    briefed_on: date | None
    sessions: tuple[MentorSession, ...]
    feedback: str | None

    class Event(ProgramAggregate.Event):
        """Base of the Mentorship's events."""

    class MentorNominated(Event, ProgramAggregate.Created):
        """A host-department employee was asked to mentor a participant (R4)."""

        TOPIC = "rotation_domain:MentorNominated"
        DATA_SUBJECT: ClassVar[str] = "participant"
        rotation_id: UUID
        mentor: str
        participant: str
        host_department: str

    Created = MentorNominated

    class MentorAgreed(Event):
        """The mentor agreed to guide the participant (R4)."""

        TOPIC = "rotation_domain:MentorAgreed"

        def apply(self, aggregate: Mentorship) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = MentorshipStatus.AGREED

    class MentorDeclined(Event):
        """The mentor declined; the rotation needs another mentor (R4)."""

        TOPIC = "rotation_domain:MentorDeclined"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str

        def apply(self, aggregate: Mentorship) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = MentorshipStatus.DECLINED

    class MentorBriefed(Event):
        """The CIO's office briefed the mentor on the program's value (R5)."""

        TOPIC = "rotation_domain:MentorBriefed"
        on: date

        def apply(self, aggregate: Mentorship) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.briefed_on = self.on

    class MentorSessionHeld(Event):
        """The mentor held a discussion, reading or hands-on session (R6)."""

        TOPIC = "rotation_domain:MentorSessionHeld"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("topic",)
        kind: SessionKind
        on: date
        topic: str

        def apply(self, aggregate: Mentorship) -> None:
            """Evolve the aggregate's state by this event."""
            session = MentorSession(self.kind, self.on, self.topic)
            aggregate.sessions = (*aggregate.sessions, session)

    class MentorshipConcluded(Event):
        """The mentorship ended, with the mentor's feedback."""

        TOPIC = "rotation_domain:MentorshipConcluded"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("feedback",)
        feedback: str

        def apply(self, aggregate: Mentorship) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = MentorshipStatus.CONCLUDED
            aggregate.feedback = self.feedback

    class MentorshipReleased(Event):
        """The mentor can no longer mentor (left or moved, R10); the rotation needs another."""

        TOPIC = "rotation_domain:MentorshipReleased"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str

        def apply(self, aggregate: Mentorship) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = MentorshipStatus.RELEASED

    def __init__(
        self, rotation_id: UUID, mentor: str, participant: str, host_department: str
    ) -> None:
        self.rotation_id = rotation_id
        self.mentor = mentor
        self.participant = participant
        self.host_department = host_department
        self.status = MentorshipStatus.NOMINATED
        self.briefed_on = None
        self.sessions = ()
        self.feedback = None

    @classmethod
    def nominate(
        cls, rotation_id: UUID, mentor: str, participant: str, host_department: str, *, actor: str
    ) -> Mentorship:
        """Ask a mentor; the caller has checked R4 and booked the mentor's R9 place."""
        return cls._create(
            cls.MentorNominated,
            id=uuid4(),
            actor=actor,
            rotation_id=rotation_id,
            mentor=mentor,
            participant=participant,
            host_department=host_department,
        )

    @property
    def is_open(self) -> bool:
        """Whether the mentorship is nominated or agreed."""
        return self.status in _OPEN

    def _require(self, action: str, *allowed: MentorshipStatus) -> None:
        if self.status not in allowed:
            wanted = " or ".join(s.value for s in allowed)
            raise InvalidTransition(
                f"cannot {action} mentorship {self.id}: it is {self.status.value}, "
                f"and only a {wanted} mentorship can be",
                mentorship=self.id,
                status=self.status.value,
            )

    def accept(self, *, actor: str) -> None:
        """The mentor agrees (R4)."""
        self._require("accept", MentorshipStatus.NOMINATED)
        self._trigger(self.MentorAgreed, actor=actor)

    def decline(self, reason: str, *, actor: str) -> None:
        """The mentor declines."""
        self._require("decline", MentorshipStatus.NOMINATED)
        self._trigger(self.MentorDeclined, actor=actor, reason=reason)

    def brief(self, on: date, *, actor: str) -> None:
        """Record the mentor's briefing by the CIO's office (R5)."""
        self._require("brief the mentor of", *_OPEN)
        self._trigger(self.MentorBriefed, actor=actor, on=on)

    def hold_session(self, kind: SessionKind, on: date, topic: str, *, actor: str) -> None:
        """Log a session; the caller checked it lies inside the rotation's window (R6)."""
        self._require("log a session for", MentorshipStatus.AGREED)
        self._trigger(self.MentorSessionHeld, actor=actor, kind=kind, on=on, topic=topic)

    def conclude(self, feedback: str, *, actor: str) -> None:
        """End the mentorship with the mentor's feedback."""
        self._require("conclude", MentorshipStatus.AGREED)
        self._trigger(self.MentorshipConcluded, actor=actor, feedback=feedback)

    def release(self, reason: str, *, actor: str) -> None:
        """End an open mentorship because the mentor left or moved (R10)."""
        self._require("release", *_OPEN)
        self._trigger(self.MentorshipReleased, actor=actor, reason=reason)
