"""The Rotation aggregate: one IT employee's stay of up to a month in a host department."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID, uuid4

import attrs

from rotation_domain._aggregate import ProgramAggregate
from rotation_domain.errors import (
    ImprovementRequired,
    InvalidInput,
    InvalidTransition,
    MentorNotAgreed,
    MentorNotBriefed,
    OutsideRotationWindow,
)
from rotation_domain.values import DateRange, Immutable, MentorshipStatus, RotationStatus

__all__ = ["OBSERVATION_CATEGORIES", "Observation", "Rotation"]

_OPEN = (RotationStatus.PLANNED, RotationStatus.IN_PROGRESS)


OBSERVATION_CATEGORIES = ("general", "process", "data", "tooling", "communication")
"""The kinds of problem an observation can name; ``general`` when none is given."""


@attrs.frozen
class Observation(Immutable):
    """R7: a problem of the host department that IT could solve."""

    text: str
    on: date | None
    category: str = "general"


class Rotation(ProgramAggregate, created_event_name="RotationPlanned"):
    """A participant's rotation into a host department, from plan to completion."""

    TOPIC = "rotation_domain:Rotation"

    participant: str
    host_department: str
    period: DateRange
    status: RotationStatus
    mentorship_id: UUID | None
    mentor: str | None
    started_on: date | None
    finished_on: date | None
    observations: tuple[Observation, ...]
    improvement_ids: tuple[UUID, ...]
    withdrawn_improvement_ids: tuple[UUID, ...]
    flags: tuple[str, ...]

    class Event(ProgramAggregate.Event):
        """Base of the Rotation's events."""

    class RotationPlanned(Event, ProgramAggregate.Created):
        """A rotation was planned and booked its place (R1, R2, R9)."""

        TOPIC = "rotation_domain:RotationPlanned"
        DATA_SUBJECT: ClassVar[str] = "participant"
        participant: str
        host_department: str
        start: date
        end: date

    Created = RotationPlanned

    class RotationRescheduled(Event):
        """The rotation's window moved (R2, R9 checked again)."""

        TOPIC = "rotation_domain:RotationRescheduled"
        start: date
        end: date

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.period = DateRange(self.start, self.end)

    class MentorshipLinked(Event):
        """A mentor was nominated for the rotation (R4)."""

        TOPIC = "rotation_domain:MentorshipLinked"
        mentorship_id: UUID
        mentor: str

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.mentorship_id = self.mentorship_id
            aggregate.mentor = self.mentor

    class RotationStarted(Event):
        """The participant arrived in the host department."""

        TOPIC = "rotation_domain:RotationStarted"
        on: date

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = RotationStatus.IN_PROGRESS
            aggregate.started_on = self.on

    class ObservationRecorded(Event):
        """The participant noted a problem IT could solve (R7).

        Version 2 added ``category``; version-1 events are read as ``general``
        (docs/evolving-events.md).
        """

        TOPIC = "rotation_domain:ObservationRecorded"
        class_version = 2
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("text",)
        text: str
        on: date | None
        category: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no category: every observation then was a general one."""
            state["category"] = "general"

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            observation = Observation(self.text, self.on, self.category)
            aggregate.observations = (*aggregate.observations, observation)

    class ImprovementLinked(Event):
        """The participant proposed an improvement as payback (R8)."""

        TOPIC = "rotation_domain:ImprovementLinked"
        improvement_id: UUID

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.improvement_ids = (*aggregate.improvement_ids, self.improvement_id)

    class ImprovementUnlinked(Event):
        """An improvement of the rotation was withdrawn: it no longer counts as payback (R8)."""

        TOPIC = "rotation_domain:ImprovementUnlinked"
        improvement_id: UUID

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.withdrawn_improvement_ids = (
                *aggregate.withdrawn_improvement_ids,
                self.improvement_id,
            )

    class RotationCompleted(Event):
        """The rotation ended with its payback proposed (R8)."""

        TOPIC = "rotation_domain:RotationCompleted"
        on: date

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = RotationStatus.COMPLETED
            aggregate.finished_on = self.on

    class RotationCancelled(Event):
        """The rotation will not happen or stopped; it gave up its place (R9, R10)."""

        TOPIC = "rotation_domain:RotationCancelled"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str
        on: date | None

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = RotationStatus.CANCELLED
            aggregate.finished_on = self.on

    class RotationFlagged(Event):
        """Something about the rotation needs a person's decision (R10)."""

        TOPIC = "rotation_domain:RotationFlagged"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str

        def apply(self, aggregate: Rotation) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.flags = (*aggregate.flags, self.reason)

    def __init__(self, participant: str, host_department: str, start: date, end: date) -> None:
        self.participant = participant
        self.host_department = host_department
        self.period = DateRange(start, end)
        self.status = RotationStatus.PLANNED
        self.mentorship_id = None
        self.mentor = None
        self.started_on = None
        self.finished_on = None
        self.observations = ()
        self.improvement_ids = ()
        self.withdrawn_improvement_ids = ()
        self.flags = ()

    @classmethod
    def plan(
        cls, participant: str, host_department: str, period: DateRange, *, actor: str
    ) -> Rotation:
        """Plan a rotation; the caller has checked R1, R2 and booked R9 places."""
        return cls._create(
            cls.RotationPlanned,
            id=uuid4(),
            actor=actor,
            participant=participant,
            host_department=host_department,
            start=period.start,
            end=period.end,
        )

    @property
    def is_open(self) -> bool:
        """Whether the rotation is planned or in progress."""
        return self.status in _OPEN

    def _require(self, action: str, *allowed: RotationStatus) -> None:
        if self.status not in allowed:
            wanted = " or ".join(s.value for s in allowed)
            raise InvalidTransition(
                f"cannot {action} rotation {self.id}: it is {self.status.value}, "
                f"and only a {wanted} rotation can be",
                rotation=self.id,
                status=self.status.value,
            )

    def _require_in_window(self, what: str, day: date) -> None:
        if day not in self.period:
            raise OutsideRotationWindow(
                f"{what} on {day.isoformat()} is outside rotation {self.id}'s window "
                f"{self.period} (R6)",
                rotation=self.id,
                day=day,
                start=self.period.start,
                end=self.period.end,
            )
        if self.started_on is not None and day < self.started_on:
            raise OutsideRotationWindow(
                f"{what} on {day.isoformat()} is before {self.participant} arrived on "
                f"{self.started_on.isoformat()} (R6: inside the rotation's window)",
                rotation=self.id,
                day=day,
                start=self.period.start,
                end=self.period.end,
            )

    def check_reschedulable(self, period: DateRange) -> None:
        """Refuse a new window the rotation's state does not allow."""
        self._require("reschedule", *_OPEN)
        if self.status is RotationStatus.IN_PROGRESS and period.start != self.period.start:
            raise InvalidTransition(
                f"rotation {self.id} started on {self.period.start.isoformat()}; "
                "a rotation in progress can change only its end",
                rotation=self.id,
            )

    def reschedule(self, period: DateRange, *, actor: str) -> None:
        """Move the window; the caller has checked R2 and moved the R9 bookings."""
        self.check_reschedulable(period)
        if period != self.period:
            self._trigger(self.RotationRescheduled, actor=actor, start=period.start, end=period.end)

    def check_can_link_mentor(self, current_mentorship_open: bool) -> None:
        """Refuse a nomination while another mentorship is still open."""
        self._require("nominate a mentor for", *_OPEN)
        if current_mentorship_open:
            raise InvalidTransition(
                f"rotation {self.id} already has mentor {self.mentor} nominated or agreed; "
                "they must decline or be released first",
                rotation=self.id,
                mentor=self.mentor,
            )

    def link_mentorship(self, mentorship_id: UUID, mentor: str, *, actor: str) -> None:
        """Remember the rotation's current mentorship."""
        self._trigger(
            self.MentorshipLinked, actor=actor, mentorship_id=mentorship_id, mentor=mentor
        )

    def start(
        self,
        on: date,
        *,
        mentor_status: MentorshipStatus | None,
        mentor_briefed: bool,
        require_briefing: bool,
        actor: str,
    ) -> None:
        """Begin the rotation (R4: only with a mentor who agreed; R5 if required).

        ``mentor_status`` is the status of the rotation's current mentorship, if any.
        """
        self._require("start", RotationStatus.PLANNED)
        self._require_in_window("a start", on)
        if mentor_status is not MentorshipStatus.AGREED:
            if mentor_status is None:
                why = "no mentor has been nominated"
            elif mentor_status is MentorshipStatus.NOMINATED:
                why = f"mentor {self.mentor} has not agreed yet"
            else:
                why = f"mentor {self.mentor} {mentor_status.value}; nominate another mentor"
            raise MentorNotAgreed(
                f"rotation {self.id} cannot start: {why} "
                "(R4: no rotation starts without an agreed mentor)",
                rotation=self.id,
                mentor=self.mentor,
            )
        if require_briefing and not mentor_briefed:
            raise MentorNotBriefed(
                f"rotation {self.id} cannot start: mentor {self.mentor} has not been briefed "
                "and the policy requires a briefing first (R5)",
                rotation=self.id,
                mentor=self.mentor,
            )
        self._trigger(self.RotationStarted, actor=actor, on=on)

    def record_observation(
        self, text: str, on: date | None, *, actor: str, category: str = "general"
    ) -> None:
        """Note a problem of the host department that IT could solve (R7).

        The rotation must be in progress; a given date must lie in its window; the
        category is one of `OBSERVATION_CATEGORIES`.
        """
        if category not in OBSERVATION_CATEGORIES:
            raise InvalidInput(
                f"an observation's category must be one of {', '.join(OBSERVATION_CATEGORIES)}, "
                f"got {category!r}",
                field="category",
            )
        self._require("record an observation on", RotationStatus.IN_PROGRESS)
        if on is not None:
            self._require_in_window("an observation", on)
        self._trigger(self.ObservationRecorded, actor=actor, text=text, on=on, category=category)

    def check_can_propose(self) -> None:
        """Refuse a proposal before the rotation started or after it was cancelled."""
        self._require(
            "propose an improvement for", RotationStatus.IN_PROGRESS, RotationStatus.COMPLETED
        )

    def link_improvement(self, improvement_id: UUID, *, actor: str) -> None:
        """Remember an improvement proposed as the rotation's payback."""
        self.check_can_propose()
        self._trigger(self.ImprovementLinked, actor=actor, improvement_id=improvement_id)

    @property
    def live_improvements(self) -> int:
        """Improvements proposed for the rotation and not withdrawn (R8)."""
        return len(self.improvement_ids) - len(self.withdrawn_improvement_ids)

    def unlink_improvement(self, improvement_id: UUID, *, actor: str) -> None:
        """Stop counting a withdrawn improvement; a completed rotation keeps its last one (R8)."""
        if improvement_id not in self.improvement_ids:
            raise InvalidTransition(
                f"improvement {improvement_id} does not belong to rotation {self.id}",
                rotation=self.id,
            )
        if self.status is RotationStatus.COMPLETED and self.live_improvements <= 1:
            raise ImprovementRequired(
                f"improvement {improvement_id} is the only payback of completed rotation "
                f"{self.id} and cannot be withdrawn (R8)",
                improvement=improvement_id,
                rotation=self.id,
            )
        self._trigger(self.ImprovementUnlinked, actor=actor, improvement_id=improvement_id)

    def check_session_date(self, on: date) -> None:
        """R6: sessions are held inside the rotation's window, once it has started."""
        self._require(
            "log a mentor session for", RotationStatus.IN_PROGRESS, RotationStatus.COMPLETED
        )
        self._require_in_window("a mentor session", on)

    def complete(self, on: date, *, actor: str) -> None:
        """End the rotation; R8 needs at least one improvement proposed and not withdrawn."""
        self._require("complete", RotationStatus.IN_PROGRESS)
        if self.started_on is not None and on < self.started_on:
            raise InvalidTransition(
                f"rotation {self.id} started on {self.started_on.isoformat()} and cannot be "
                f"completed earlier, on {on.isoformat()}",
                rotation=self.id,
                day=on,
            )
        live_improvements = self.live_improvements
        if live_improvements < 1:
            raise ImprovementRequired(
                f"rotation {self.id} cannot be completed: {self.participant} has proposed no "
                "improvement yet (R8: each participant pays the host back with one)",
                rotation=self.id,
                improvements=live_improvements,
            )
        self._trigger(self.RotationCompleted, actor=actor, on=on)

    def cancel(self, reason: str, on: date | None, *, actor: str) -> None:
        """Call the rotation off; it gives up its R9 places."""
        self._require("cancel", *_OPEN)
        self._trigger(self.RotationCancelled, actor=actor, reason=reason, on=on)

    def flag(self, reason: str, *, actor: str) -> None:
        """Ask a person to decide something about an open rotation (R10)."""
        self._trigger(self.RotationFlagged, actor=actor, reason=reason)
