"""Improvement commands: the participant's payback, proposed then adopted or rejected (R8)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from rotation_domain._commands_mentoring import MentoringCommands
from rotation_domain._inputs import a_date, an_id, optional_text, text
from rotation_domain._service import UnitOfWork
from rotation_domain.improvement import Improvement
from rotation_domain.rotation import Rotation

__all__ = ["ImprovementCommands"]


class ImprovementCommands(MentoringCommands):
    """Proposals made during a rotation and the host department's decisions on them."""

    def propose_improvement(
        self,
        rotation: UUID | str,
        *,
        title: str,
        description: str = "",
        on: date | str | None = None,
        actor: str | None = None,
    ) -> UUID:
        """Propose a process improvement to the host department; return its id (R8)."""
        rotation_id, heading = an_id("rotation", rotation), text("title", title, max_length=300)
        details = optional_text("description", description) or ""
        day = a_date("on", on) if on is not None else None

        def command(unit: UnitOfWork) -> UUID:
            found = unit.get(Rotation, rotation_id)
            self._check(unit, "propose_improvement", rotation=found)
            found.check_can_propose()
            improvement = unit.add(
                Improvement.propose(
                    found.id,
                    found.participant,
                    found.host_department,
                    title=heading,
                    description=details,
                    on=day,
                    actor=unit.actor,
                )
            )
            found.link_improvement(improvement.id, actor=unit.actor)
            return improvement.id

        return self._run(actor, command)

    def adopt_improvement(
        self, improvement: UUID | str, *, on: date | str | None = None, actor: str | None = None
    ) -> None:
        """The host department adopts the improvement: a lasting change."""
        improvement_id = an_id("improvement", improvement)
        day = a_date("on", on) if on is not None else self._today()

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Improvement, improvement_id)
            self._check(unit, "adopt_improvement", improvement=found)
            found.adopt(day, actor=unit.actor)

        self._run(actor, command)

    def reject_improvement(
        self,
        improvement: UUID | str,
        *,
        reason: str,
        on: date | str | None = None,
        actor: str | None = None,
    ) -> None:
        """The host department turns the improvement down, with a reason."""
        improvement_id, why = an_id("improvement", improvement), text("reason", reason)
        day = a_date("on", on) if on is not None else None

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Improvement, improvement_id)
            self._check(unit, "reject_improvement", improvement=found)
            found.reject(why, day, actor=unit.actor)

        self._run(actor, command)

    def withdraw_improvement(
        self, improvement: UUID | str, *, reason: str | None = None, actor: str | None = None
    ) -> None:
        """The participant withdraws a proposal; a completed rotation keeps its last payback."""
        improvement_id, why = an_id("improvement", improvement), optional_text("reason", reason)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Improvement, improvement_id)
            rotation = unit.get(Rotation, found.rotation_id)
            self._check(unit, "withdraw_improvement", improvement=found)
            found.withdraw(why, actor=unit.actor)
            rotation.unlink_improvement(found.id, actor=unit.actor)

        self._run(actor, command)
