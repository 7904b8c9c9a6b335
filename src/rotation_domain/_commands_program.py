"""Program commands: the policy, review cycles and exemptions (R2, R3, R5, R9)."""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs

from rotation_domain._commands_privacy import PrivacyCommands
from rotation_domain._inputs import a_date, a_period, text
from rotation_domain._service import UnitOfWork
from rotation_domain.errors import NotAnITEmployee
from rotation_domain.values import Policy

__all__ = ["ProgramCommands"]


class ProgramCommands(PrivacyCommands):
    """The CIO's office sets the rules and runs the review cycles."""

    def set_policy(
        self,
        *,
        max_length_days: int | None = None,
        max_concurrent: int | None = None,
        max_guests_per_department: int | None = None,
        max_mentees_per_mentor: int | None = None,
        require_briefing: bool | None = None,
        actor: str | None = None,
    ) -> None:
        """Change some of the policy's numbers; those not given keep their current values.

        Rotations already booked keep their places when a cap is lowered.
        """
        given: dict[str, Any] = {
            "max_length_days": max_length_days,
            "max_concurrent": max_concurrent,
            "max_guests_per_department": max_guests_per_department,
            "max_mentees_per_mentor": max_mentees_per_mentor,
            "require_briefing": require_briefing,
        }
        changes = {name: value for name, value in given.items() if value is not None}
        attrs.evolve(Policy(), **changes)  # validates the values before anything is loaded

        def command(unit: UnitOfWork) -> None:
            self._check(unit, "set_policy")
            program = unit.program()
            program.set_policy(attrs.evolve(program.policy, **changes), actor=unit.actor)

        self._run(actor, command)

    def open_review_cycle(
        self, name: str, *, start: date | str, end: date | str, actor: str | None = None
    ) -> str:
        """Open a review cycle in which every active IT employee owes a rotation (R3)."""
        name, period = text("name", name, max_length=100), a_period(start, end)

        def command(unit: UnitOfWork) -> str:
            self._check(unit, "open_review_cycle", cycle=name)
            unit.program().open_review_cycle(name, period, actor=unit.actor)
            return name

        return self._run(actor, command)

    def close_review_cycle(
        self, name: str, *, on: date | str | None = None, actor: str | None = None
    ) -> None:
        """Close a review cycle; objectives not met by then are missed."""
        name = text("name", name, max_length=100)
        day = a_date("on", on) if on is not None else self._today()

        def command(unit: UnitOfWork) -> None:
            self._check(unit, "close_review_cycle", cycle=name)
            unit.program().close_review_cycle(name, day, actor=unit.actor)

        self._run(actor, command)

    def grant_exemption(
        self, employee: str, cycle: str, *, reason: str, actor: str | None = None
    ) -> None:
        """Excuse an IT employee from one cycle's participation objective (R3)."""
        employee = text("employee", employee, max_length=64)
        cycle, why = text("cycle", cycle, max_length=100), text("reason", reason)

        def command(unit: UnitOfWork) -> None:
            person = unit.employee(employee)
            program = unit.program()
            program.cycle(cycle)
            self._check(unit, "grant_exemption", employee=employee, cycle=cycle)
            program.check_exemption(employee, cycle)
            if not unit.department(person.department).is_it:
                raise NotAnITEmployee(
                    f"{employee} works in {person.department}, not IT; only IT staff have a "
                    "participation objective to be exempted from (R3)",
                    employee=employee,
                )
            program.grant_exemption(employee, cycle, why, actor=unit.actor)

        self._run(actor, command)
