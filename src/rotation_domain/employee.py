"""The Employee aggregate: a person in the directory, and the rotations they take part in (R10)."""

from __future__ import annotations

import enum
from datetime import date
from typing import ClassVar
from uuid import UUID

import attrs

from rotation_domain._aggregate import ProgramAggregate, stable_id
from rotation_domain.errors import InvalidTransition
from rotation_domain.personal_data import FORGOTTEN, ORIGINATOR, AlreadyForgotten
from rotation_domain.values import Immutable

__all__ = ["Assignment", "Employee", "Role"]


class Role(enum.StrEnum):
    """The part a person plays in a rotation."""

    PARTICIPANT = "participant"
    MENTOR = "mentor"


@attrs.frozen
class Assignment(Immutable):
    """A rotation the person takes part in, kept so R10 can find it when they leave."""

    rotation_id: UUID
    role: Role
    mentorship_id: UUID | None = None


class Employee(ProgramAggregate, created_event_name="EmployeeRegistered"):
    """A person of the company: IT staff who rotate, or host staff who mentor.

    The name and e-mail address are personal data (docs/privacy.md): snapshots keep
    them encrypted with the person's key, and they read as ``[forgotten]`` once the
    person is forgotten.
    """

    TOPIC = "rotation_domain:Employee"
    PERSONAL_STATE: ClassVar[tuple[str, ...]] = ("name", "email")
    DATA_SUBJECT: ClassVar[str] = ORIGINATOR

    code: str
    name: str
    email: str
    department: str
    manager: str | None
    active: bool
    assignments: tuple[Assignment, ...]
    forgotten: bool = False
    """Whether the person was forgotten (`forget`); False for employees stored before."""

    class Event(ProgramAggregate.Event):
        """Base of the Employee's events: their personal data is the employee's own."""

        DATA_SUBJECT: ClassVar[str] = ORIGINATOR

    class EmployeeRegistered(Event, ProgramAggregate.Created):
        """A person joined the directory."""

        TOPIC = "rotation_domain:EmployeeRegistered"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("name", "email")
        code: str
        name: str
        email: str
        department: str
        manager: str | None

    Created = EmployeeRegistered

    class EmployeeTransferred(Event):
        """The person moved to another department (R10)."""

        TOPIC = "rotation_domain:EmployeeTransferred"
        from_department: str
        to_department: str
        on: date

        def apply(self, aggregate: Employee) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.department = self.to_department

    class EmployeeDeparted(Event):
        """The person left the company; their history stays (R10)."""

        TOPIC = "rotation_domain:EmployeeDeparted"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        on: date
        reason: str

        def apply(self, aggregate: Employee) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.active = False

    class EmployeeDetailsChanged(Event):
        """The person's name, e-mail address or manager changed (a directory sync)."""

        TOPIC = "rotation_domain:EmployeeDetailsChanged"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("name", "email")
        name: str
        email: str
        manager: str | None

        def apply(self, aggregate: Employee) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.name = self.name
            aggregate.email = self.email
            aggregate.manager = self.manager

    class EmployeeAssigned(Event):
        """The person took a part in a rotation, as participant or mentor."""

        TOPIC = "rotation_domain:EmployeeAssigned"
        rotation_id: UUID
        role: Role
        mentorship_id: UUID | None

        def apply(self, aggregate: Employee) -> None:
            """Evolve the aggregate's state by this event."""
            assignment = Assignment(self.rotation_id, self.role, self.mentorship_id)
            aggregate.assignments = (*aggregate.assignments, assignment)

    class EmployeeForgotten(Event):
        """The person's personal data was forgotten: their key was destroyed.

        Carries no personal data. From this event on, the person's name, e-mail address
        and free-text notes read as ``[forgotten]`` everywhere (docs/privacy.md).
        """

        TOPIC = "rotation_domain:EmployeeForgotten"
        FORGETS_DATA_SUBJECT: ClassVar[bool] = True
        reason: str

        def apply(self, aggregate: Employee) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.name = FORGOTTEN
            aggregate.email = FORGOTTEN
            aggregate.forgotten = True

    def __init__(
        self, code: str, name: str, email: str, department: str, manager: str | None
    ) -> None:
        self.code = code
        self.name = name
        self.email = email
        self.department = department
        self.manager = manager
        self.active = True
        self.assignments = ()

    @staticmethod
    def id_for(code: str) -> UUID:
        """The aggregate id of the employee with that code."""
        return stable_id("employee", code)

    @classmethod
    def register(
        cls,
        code: str,
        *,
        name: str,
        email: str,
        department: str,
        manager: str | None,
        actor: str,
    ) -> Employee:
        """Record a new person in the directory."""
        return cls._create(
            cls.EmployeeRegistered,
            id=cls.id_for(code),
            actor=actor,
            code=code,
            name=name,
            email=email,
            department=department,
            manager=manager,
        )

    def _require_active(self, action: str) -> None:
        if not self.active:
            raise InvalidTransition(
                f"cannot {action}: employee {self.code} has departed", employee=self.code
            )

    def transfer(self, to_department: str, on: date, *, actor: str) -> None:
        """Move the person to another department."""
        self._require_active("transfer")
        if to_department == self.department:
            raise InvalidTransition(
                f"employee {self.code} already works in {to_department}",
                employee=self.code,
                department=to_department,
            )
        self._trigger(
            self.EmployeeTransferred,
            actor=actor,
            from_department=self.department,
            to_department=to_department,
            on=on,
        )

    def depart(self, on: date, reason: str, *, actor: str) -> None:
        """Record that the person left the company."""
        self._require_active("record a departure")
        self._trigger(self.EmployeeDeparted, actor=actor, on=on, reason=reason)

    def change_details(self, *, name: str, email: str, manager: str | None, actor: str) -> None:
        """Record the person's new name, e-mail address and manager."""
        self._require_active("change the details")
        if self.forgotten:
            raise AlreadyForgotten(
                f"employee {self.code} was forgotten: their details are no longer recorded",
                employee=self.code,
            )
        if (name, email, manager) == (self.name, self.email, self.manager):
            raise InvalidTransition(
                f"employee {self.code}'s details are already those", employee=self.code
            )
        self._trigger(
            self.EmployeeDetailsChanged, actor=actor, name=name, email=email, manager=manager
        )

    def assign(
        self, rotation_id: UUID, role: Role, *, mentorship_id: UUID | None = None, actor: str
    ) -> None:
        """Remember that the person takes part in a rotation."""
        self._trigger(
            self.EmployeeAssigned,
            actor=actor,
            rotation_id=rotation_id,
            role=role,
            mentorship_id=mentorship_id,
        )

    def forget(self, reason: str, *, actor: str) -> None:
        """Record that the person's personal data is forgotten (the key goes next).

        Raises:
            AlreadyForgotten: The person was forgotten before.
        """
        if self.forgotten:
            raise AlreadyForgotten(f"employee {self.code} is already forgotten", employee=self.code)
        self._trigger(self.EmployeeForgotten, actor=actor, reason=reason)
