"""The Department aggregate: a unit of the company, IT or not (R1)."""

from __future__ import annotations

from uuid import UUID

from rotation_domain._aggregate import ProgramAggregate, stable_id

__all__ = ["Department"]


class Department(ProgramAggregate, created_event_name="DepartmentRegistered"):
    """A department of the company; the IT departments send staff, the others host them."""

    TOPIC = "rotation_domain:Department"

    code: str
    name: str
    is_it: bool

    class Event(ProgramAggregate.Event):
        """Base of the Department's events."""

    class DepartmentRegistered(Event, ProgramAggregate.Created):
        """A department joined the directory."""

        TOPIC = "rotation_domain:DepartmentRegistered"
        code: str
        name: str
        is_it: bool

    Created = DepartmentRegistered

    def __init__(self, code: str, name: str, is_it: bool) -> None:
        self.code = code
        self.name = name
        self.is_it = is_it

    @staticmethod
    def id_for(code: str) -> UUID:
        """The aggregate id of the department with that code."""
        return stable_id("department", code)

    @classmethod
    def register(cls, code: str, name: str, *, is_it: bool, actor: str) -> Department:
        """Record a new department."""
        return cls._create(
            cls.DepartmentRegistered,
            id=cls.id_for(code),
            actor=actor,
            code=code,
            name=name,
            is_it=is_it,
        )
