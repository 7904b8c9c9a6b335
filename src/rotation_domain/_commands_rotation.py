"""Rotation commands: plan, reschedule, start, observe, complete, cancel (R1, R2, R4, R7-R9)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from rotation_domain._commands_directory import current_mentor
from rotation_domain._commands_sync import DirectorySyncCommands
from rotation_domain._inputs import a_date, a_period, an_id
from rotation_domain._inputs import text as a_text
from rotation_domain._service import UnitOfWork
from rotation_domain.employee import Role
from rotation_domain.errors import (
    HostDepartmentNotEligible,
    InvalidInput,
    InvalidTransition,
    NotAnITEmployee,
)
from rotation_domain.mentorship import Mentorship
from rotation_domain.policies import Booking, check_length
from rotation_domain.roster import months_of
from rotation_domain.rotation import OBSERVATION_CATEGORIES, Rotation

__all__ = ["RotationCommands"]


def _a_category(value: object) -> str:
    """An observation's category, checked before anything is loaded."""
    if not isinstance(value, str) or value not in OBSERVATION_CATEGORIES:
        raise InvalidInput(
            f"an observation's category must be one of {', '.join(OBSERVATION_CATEGORIES)}, "
            f"got {value!r}",
            field="category",
            allowed=OBSERVATION_CATEGORIES,
        )
    return value


class RotationCommands(DirectorySyncCommands):
    """The life of a rotation, from plan to completion or cancellation."""

    def plan_rotation(
        self,
        employee: str,
        *,
        host_department: str,
        start: date | str,
        end: date | str,
        actor: str | None = None,
    ) -> UUID:
        """Plan an IT employee's rotation into a non-IT department; return its id.

        Enforces R1 (IT staff into another, non-IT department), R2 (at most the
        policy's length) and R9 (the caps, counted per day, and one rotation at a time).
        """
        employee = a_text("employee", employee, max_length=64)
        host_department = a_text("host_department", host_department, max_length=64)
        period = a_period(start, end)

        def command(unit: UnitOfWork) -> UUID:
            person = unit.employee(employee)
            host = unit.department(host_department)
            home = unit.department(person.department)
            self._check(unit, "plan_rotation", employee=employee, host=host_department)
            if not person.active:
                raise InvalidTransition(
                    f"cannot plan a rotation for {employee}: they have departed",
                    employee=employee,
                )
            if not home.is_it:
                raise NotAnITEmployee(
                    f"{employee} works in {home.code}, which is not an IT department; only IT "
                    "staff rotate (R1)",
                    employee=employee,
                    department=home.code,
                )
            if host.is_it or host.code == home.code:
                raise HostDepartmentNotEligible(
                    f"{host.code} is an IT department; rotations go to another, non-IT "
                    "department (R1)",
                    department=host.code,
                )
            policy = unit.policy()
            check_length(policy, period)
            rotation = unit.add(Rotation.plan(employee, host.code, period, actor=unit.actor))
            booking = Booking(rotation.id, employee, host.code, period, None)
            for month in months_of(period):
                unit.roster(month).book(booking, policy, actor=unit.actor)
            person.assign(rotation.id, Role.PARTICIPANT, actor=unit.actor)
            return rotation.id

        return self._run(actor, command)

    def reschedule_rotation(
        self,
        rotation: UUID | str,
        *,
        start: date | str,
        end: date | str,
        actor: str | None = None,
    ) -> None:
        """Move a planned rotation's window, or change the end of one in progress (R2, R9)."""
        rotation_id, period = an_id("rotation", rotation), a_period(start, end)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Rotation, rotation_id)
            self._check(unit, "reschedule_rotation", rotation=found)
            found.check_reschedulable(period)
            policy = unit.policy()
            check_length(policy, period)
            old_months = months_of(found.period)
            new_months = months_of(period)
            mentorship = current_mentor(unit, found)
            mentor = mentorship.mentor if mentorship is not None else None
            booking = Booking(found.id, found.participant, found.host_department, period, mentor)
            for month in new_months:
                unit.roster(month).book(booking, policy, actor=unit.actor)
            for month in old_months:
                if month not in new_months:
                    unit.roster(month).release(found.id, actor=unit.actor)
            found.reschedule(period, actor=unit.actor)

        self._run(actor, command)

    def start_rotation(
        self, rotation: UUID | str, *, on: date | str, actor: str | None = None
    ) -> None:
        """Record the participant's arrival (R4: an agreed mentor; R5 if the policy says)."""
        rotation_id, day = an_id("rotation", rotation), a_date("on", on)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Rotation, rotation_id)
            self._check(unit, "start_rotation", rotation=found)
            mentorship = unit.get(Mentorship, found.mentorship_id) if found.mentorship_id else None
            briefed = mentorship is not None and mentorship.briefed_on is not None
            found.start(
                day,
                mentor_status=mentorship.status if mentorship is not None else None,
                mentor_briefed=briefed,
                require_briefing=unit.policy().require_briefing,
                actor=unit.actor,
            )

        self._run(actor, command)

    def record_observation(
        self,
        rotation: UUID | str,
        text: str,
        *,
        on: date | str | None = None,
        category: str = "general",
        actor: str | None = None,
    ) -> None:
        """Note a problem of the host department that IT could solve (R7).

        Args:
            rotation: The rotation in progress.
            text: What was observed.
            on: The day it was observed, inside the rotation's window (optional).
            category: What kind of problem it is: one of `OBSERVATION_CATEGORIES`
                (``general``, ``process``, ``data``, ``tooling``, ``communication``).
            actor: Who records it (default: the ``acting_as`` actor).

        Raises:
            InvalidInput: an empty text, a malformed id or date, or an unknown category.
        """
        rotation_id = an_id("rotation", rotation)
        note = a_text("text", text)
        day = a_date("on", on) if on is not None else None
        kind = _a_category(category)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Rotation, rotation_id)
            self._check(unit, "record_observation", rotation=found)
            found.record_observation(note, day, actor=unit.actor, category=kind)

        self._run(actor, command)

    def complete_rotation(
        self, rotation: UUID | str, *, on: date | str, actor: str | None = None
    ) -> None:
        """End a rotation in progress; R8 requires an improvement proposed and not withdrawn."""
        rotation_id, day = an_id("rotation", rotation), a_date("on", on)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Rotation, rotation_id)
            self._check(unit, "complete_rotation", rotation=found)
            found.complete(day, actor=unit.actor)

        self._run(actor, command)

    def cancel_rotation(
        self,
        rotation: UUID | str,
        *,
        reason: str,
        on: date | str | None = None,
        actor: str | None = None,
    ) -> None:
        """Call off a planned or running rotation; it gives up its places (R9)."""
        rotation_id = an_id("rotation", rotation)
        why = a_text("reason", reason)
        day = a_date("on", on) if on is not None else None

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Rotation, rotation_id)
            self._check(unit, "cancel_rotation", rotation=found)
            self._cancel(unit, found, why, day)

        self._run(actor, command)
