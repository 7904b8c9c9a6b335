"""The Improvement aggregate: the participant's payback to the host department (R8)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID, uuid4

from rotation_domain._aggregate import ProgramAggregate
from rotation_domain.errors import InvalidInput, InvalidTransition
from rotation_domain.values import ImprovementStatus

__all__ = ["Improvement"]


class Improvement(ProgramAggregate, created_event_name="ImprovementProposed"):
    """A process improvement or business solution, proposed then adopted or rejected."""

    TOPIC = "rotation_domain:Improvement"

    rotation_id: UUID
    participant: str
    host_department: str
    title: str
    description: str
    status: ImprovementStatus
    proposed_on: date | None
    decided_on: date | None
    reason: str | None

    class Event(ProgramAggregate.Event):
        """Base of the Improvement's events."""

    class ImprovementProposed(Event, ProgramAggregate.Created):
        """The participant proposed an improvement to the host department (R8)."""

        TOPIC = "rotation_domain:ImprovementProposed"
        DATA_SUBJECT: ClassVar[str] = "participant"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("description",)
        rotation_id: UUID
        participant: str
        host_department: str
        title: str
        description: str
        on: date | None

    Created = ImprovementProposed

    class ImprovementAdopted(Event):
        """The host department adopted the improvement: a lasting change."""

        TOPIC = "rotation_domain:ImprovementAdopted"
        on: date

        def apply(self, aggregate: Improvement) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = ImprovementStatus.ADOPTED
            aggregate.decided_on = self.on

    class ImprovementRejected(Event):
        """The host department turned the improvement down, with a reason."""

        TOPIC = "rotation_domain:ImprovementRejected"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str
        on: date | None

        def apply(self, aggregate: Improvement) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = ImprovementStatus.REJECTED
            aggregate.decided_on = self.on
            aggregate.reason = self.reason

    class ImprovementWithdrawn(Event):
        """The participant withdrew the proposal."""

        TOPIC = "rotation_domain:ImprovementWithdrawn"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str | None

        def apply(self, aggregate: Improvement) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.status = ImprovementStatus.WITHDRAWN
            aggregate.reason = self.reason

    def __init__(
        self,
        rotation_id: UUID,
        participant: str,
        host_department: str,
        title: str,
        description: str,
        on: date | None,
    ) -> None:
        self.rotation_id = rotation_id
        self.participant = participant
        self.host_department = host_department
        self.title = title
        self.description = description
        self.status = ImprovementStatus.PROPOSED
        self.proposed_on = on
        self.decided_on = None
        self.reason = None

    @classmethod
    def propose(
        cls,
        rotation_id: UUID,
        participant: str,
        host_department: str,
        *,
        title: str,
        description: str,
        on: date | None,
        actor: str,
    ) -> Improvement:
        """Record a proposal; the caller checked the rotation may take one."""
        return cls._create(
            cls.ImprovementProposed,
            id=uuid4(),
            actor=actor,
            rotation_id=rotation_id,
            participant=participant,
            host_department=host_department,
            title=title,
            description=description,
            on=on,
        )

    @property
    def counts_as_payback(self) -> bool:
        """Whether the improvement still counts toward R8 (it was not withdrawn)."""
        return self.status is not ImprovementStatus.WITHDRAWN

    def _require_proposed(self, action: str) -> None:
        if self.status is not ImprovementStatus.PROPOSED:
            raise InvalidTransition(
                f"cannot {action} improvement {self.id} ({self.title!r}): it is already "
                f"{self.status.value}",
                improvement=self.id,
                status=self.status.value,
            )

    def adopt(self, on: date, *, actor: str) -> None:
        """The host department adopts the improvement."""
        if self.proposed_on is not None and on < self.proposed_on:
            raise InvalidInput(
                f"improvement {self.id} was proposed on {self.proposed_on.isoformat()} and "
                f"cannot be adopted earlier, on {on.isoformat()}",
                improvement=self.id,
                on=on,
            )
        self._require_proposed("adopt")
        self._trigger(self.ImprovementAdopted, actor=actor, on=on)

    def reject(self, reason: str, on: date | None, *, actor: str) -> None:
        """The host department rejects the improvement."""
        self._require_proposed("reject")
        self._trigger(self.ImprovementRejected, actor=actor, reason=reason, on=on)

    def withdraw(self, reason: str | None, *, actor: str) -> None:
        """The participant withdraws the proposal."""
        self._require_proposed("withdraw")
        self._trigger(self.ImprovementWithdrawn, actor=actor, reason=reason)
