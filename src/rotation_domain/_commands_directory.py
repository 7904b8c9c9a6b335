"""Directory commands: departments and employees, and what R10 does when people leave or move."""

from __future__ import annotations

from datetime import date
from typing import Any

from rotation_domain._inputs import a_date, an_email, optional_text, text
from rotation_domain._service import ServiceBase, UnitOfWork
from rotation_domain.department import Department
from rotation_domain.employee import Employee, Role
from rotation_domain.errors import (
    InvalidInput,
    InvalidTransition,
)
from rotation_domain.mentorship import Mentorship
from rotation_domain.roster import months_of
from rotation_domain.rotation import Rotation
from rotation_domain.values import MentorshipStatus, RotationStatus

__all__ = ["DirectoryCommands", "current_mentor", "rebook", "release_bookings"]


def release_bookings(unit: UnitOfWork, rotation: Rotation) -> None:
    """Give up every R9 place the rotation holds."""
    for month in months_of(rotation.period):
        unit.roster(month).release(rotation.id, actor=unit.actor)


def rebook(unit: UnitOfWork, rotation: Rotation, mentor: str | None) -> None:
    """Give the rotation's held places another mentor (or none).

    Only the new mentor's cap is checked: the rotation already holds its places, and
    removing a mentor only frees places, whatever the policy has become since.
    """
    policy = unit.policy()
    for month in months_of(rotation.period):
        unit.roster(month).assign_mentor(rotation.id, mentor, policy, actor=unit.actor)


def current_mentor(unit: UnitOfWork, rotation: Rotation) -> Mentorship | None:
    """The rotation's mentorship unless it was declined or released."""
    if rotation.mentorship_id is None:
        return None
    mentorship = unit.get(Mentorship, rotation.mentorship_id)
    if mentorship.status in (MentorshipStatus.DECLINED, MentorshipStatus.RELEASED):
        return None
    return mentorship


def release_mentor(unit: UnitOfWork, rotation: Rotation, mentorship: Mentorship, why: str) -> None:
    """End an open mentorship and free the mentor's places."""
    mentorship.release(why, actor=unit.actor)
    rebook(unit, rotation, None)


class DirectoryCommands(ServiceBase):
    """Register departments and employees; handle transfers and departures (R10)."""

    plugin_manager: Any
    """The program's plugins (set by `RotationProgram`), asked for directory sources."""

    def register_department(
        self, code: str, *, name: str, is_it: bool = False, actor: str | None = None
    ) -> str:
        """Add a department to the directory and return its code."""
        code, name = text("code", code, max_length=64), text("name", name, max_length=200)
        if not isinstance(is_it, bool):
            raise InvalidInput(f"is_it must be True or False, got {is_it!r}", field="is_it")

        def command(unit: UnitOfWork) -> str:
            self._check(unit, "register_department", department=code)
            if unit.find(Department, Department.id_for(code)) is not None:
                raise InvalidTransition(
                    f"department {code!r} is already registered", department=code
                )
            unit.add(Department.register(code, name, is_it=is_it, actor=unit.actor))
            return code

        return self._run(actor, command)

    def register_employee(
        self,
        code: str,
        *,
        name: str,
        email: str,
        department: str,
        manager: str | None = None,
        actor: str | None = None,
    ) -> str:
        """Add a person to the directory and return their code."""
        code = text("code", code, max_length=64)
        name = text("name", name, max_length=200)
        email = an_email(text("email", email, max_length=320))
        department = text("department", department, max_length=64)
        manager = optional_text("manager", manager)

        def command(unit: UnitOfWork) -> str:
            unit.department(department)
            self._check(unit, "register_employee", employee=code, department=department)
            if unit.find(Employee, Employee.id_for(code)) is not None:
                raise InvalidTransition(f"employee {code!r} is already registered", employee=code)
            unit.add(
                Employee.register(
                    code,
                    name=name,
                    email=email,
                    department=department,
                    manager=manager,
                    actor=unit.actor,
                )
            )
            return code

        return self._run(actor, command)

    def transfer_employee(
        self,
        code: str,
        *,
        to_department: str,
        on: date | str | None = None,
        actor: str | None = None,
    ) -> None:
        """Move a person to another department; R10 handles their open rotations."""
        code = text("code", code, max_length=64)
        to_department = text("to_department", to_department, max_length=64)
        day = a_date("on", on) if on is not None else self._today()

        def command(unit: UnitOfWork) -> None:
            employee = unit.employee(code)
            target = unit.department(to_department)
            self._check(unit, "transfer_employee", employee=code)
            before = employee.department
            employee.transfer(to_department, day, actor=unit.actor)
            reason = f"{code} moved from {before} to {to_department} on {day.isoformat()}"
            self._after_leaving(unit, employee, reason, day, still_it=target.is_it, departed=False)

        self._run(actor, command)

    def depart_employee(
        self,
        code: str,
        *,
        on: date | str | None = None,
        reason: str = "left the company",
        actor: str | None = None,
    ) -> None:
        """Record that a person left; their history stays, R10 handles their open rotations."""
        code = text("code", code, max_length=64)
        day = a_date("on", on) if on is not None else self._today()
        why = text("reason", reason)

        def command(unit: UnitOfWork) -> None:
            employee = unit.employee(code)
            self._check(unit, "depart_employee", employee=code)
            employee.depart(day, why, actor=unit.actor)
            message = f"{code} left the company on {day.isoformat()} ({why})"
            self._after_leaving(unit, employee, message, day, still_it=False, departed=True)

        self._run(actor, command)

    def _after_leaving(
        self,
        unit: UnitOfWork,
        employee: Employee,
        reason: str,
        day: date,
        *,
        still_it: bool,
        departed: bool,
    ) -> None:
        """R10: no open rotation of a person who left or moved is silently lost."""
        for assignment in employee.assignments:
            rotation = unit.get(Rotation, assignment.rotation_id)
            if not rotation.is_open:
                continue
            if assignment.role is Role.PARTICIPANT:
                if still_it:
                    continue
                if departed or rotation.status is RotationStatus.PLANNED:
                    self._cancel(unit, rotation, f"cancelled because {reason}", day)
                else:
                    rotation.flag(
                        f"{reason}, no longer IT staff: decide whether the rotation goes on",
                        actor=unit.actor,
                    )
            elif assignment.mentorship_id is not None:
                mentorship = unit.get(Mentorship, assignment.mentorship_id)
                moved_away = departed or employee.department != rotation.host_department
                if mentorship.is_open and moved_away:
                    release_mentor(unit, rotation, mentorship, reason)
                    rotation.flag(
                        f"mentor {employee.code} can no longer mentor ({reason}): "
                        "nominate another mentor",
                        actor=unit.actor,
                    )

    def _cancel(self, unit: UnitOfWork, rotation: Rotation, reason: str, on: date | None) -> None:
        rotation.cancel(reason, on, actor=unit.actor)
        release_bookings(unit, rotation)
        if rotation.mentorship_id is not None:
            mentorship = unit.get(Mentorship, rotation.mentorship_id)
            if mentorship.is_open:
                mentorship.release(f"rotation cancelled: {reason}", actor=unit.actor)
