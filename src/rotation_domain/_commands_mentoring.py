"""Mentorship commands: nominate, accept, decline, brief, sessions, conclude (R4-R6, R9)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from rotation_domain._commands_directory import rebook
from rotation_domain._commands_rotation import RotationCommands
from rotation_domain._inputs import a_date, a_kind, an_id, text
from rotation_domain._service import UnitOfWork
from rotation_domain.employee import Role
from rotation_domain.errors import InvalidTransition, MentorNotInHostDepartment
from rotation_domain.mentorship import Mentorship
from rotation_domain.rotation import Rotation
from rotation_domain.values import MentorshipStatus, RotationStatus, SessionKind

__all__ = ["MentoringCommands"]


class MentoringCommands(RotationCommands):
    """A mentor from the host department who agrees, is briefed and drives the sessions."""

    def nominate_mentor(
        self, rotation: UUID | str, *, mentor: str, actor: str | None = None
    ) -> UUID:
        """Ask a host-department employee to mentor the participant; return the mentorship id.

        Enforces R4 (the mentor already works in the host department) and the mentor's
        cap of R9 over the rotation's whole window.
        """
        rotation_id, mentor = an_id("rotation", rotation), text("mentor", mentor, max_length=64)

        def command(unit: UnitOfWork) -> UUID:
            found = unit.get(Rotation, rotation_id)
            person = unit.employee(mentor)
            self._check(unit, "nominate_mentor", rotation=found, mentor=mentor)
            current = unit.get(Mentorship, found.mentorship_id) if found.mentorship_id else None
            found.check_can_link_mentor(current is not None and current.is_open)
            if not person.active:
                raise InvalidTransition(
                    f"{mentor} has departed and cannot be nominated as a mentor", mentor=mentor
                )
            if person.department != found.host_department:
                raise MentorNotInHostDepartment(
                    f"{mentor} works in {person.department}, not in the host department "
                    f"{found.host_department}; the mentor must already work there (R4)",
                    mentor=mentor,
                    department=person.department,
                    host_department=found.host_department,
                )
            rebook(unit, found, mentor)
            mentorship = unit.add(
                Mentorship.nominate(
                    found.id, mentor, found.participant, found.host_department, actor=unit.actor
                )
            )
            found.link_mentorship(mentorship.id, mentor, actor=unit.actor)
            person.assign(found.id, Role.MENTOR, mentorship_id=mentorship.id, actor=unit.actor)
            return mentorship.id

        return self._run(actor, command)

    def accept_mentorship(self, mentorship: UUID | str, *, actor: str | None = None) -> None:
        """The nominated mentor agrees to guide the participant (R4)."""
        mentorship_id = an_id("mentorship", mentorship)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Mentorship, mentorship_id)
            self._check(unit, "accept_mentorship", mentorship=found)
            found.accept(actor=unit.actor)

        self._run(actor, command)

    def decline_mentorship(
        self, mentorship: UUID | str, *, reason: str, actor: str | None = None
    ) -> None:
        """The nominated mentor declines; their places are freed for the rotation's next mentor."""
        mentorship_id, why = an_id("mentorship", mentorship), text("reason", reason)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Mentorship, mentorship_id)
            self._check(unit, "decline_mentorship", mentorship=found)
            found.decline(why, actor=unit.actor)
            rotation = unit.get(Rotation, found.rotation_id)
            if rotation.is_open:
                rebook(unit, rotation, None)

        self._run(actor, command)

    def brief_mentor(
        self, mentorship: UUID | str, *, on: date | str | None = None, actor: str | None = None
    ) -> None:
        """Record that the CIO's office briefed the mentor on the program's value (R5)."""
        mentorship_id = an_id("mentorship", mentorship)
        day = a_date("on", on) if on is not None else self._today()

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Mentorship, mentorship_id)
            self._check(unit, "brief_mentor", mentorship=found)
            found.brief(day, actor=unit.actor)

        self._run(actor, command)

    def hold_mentor_session(
        self,
        mentorship: UUID | str,
        *,
        kind: SessionKind | str,
        on: date | str,
        topic: str,
        actor: str | None = None,
    ) -> None:
        """Log a discussion, reading or hands-on session inside the rotation's window (R6)."""
        mentorship_id, session_kind = an_id("mentorship", mentorship), a_kind(kind)
        day, subject = a_date("on", on), text("topic", topic)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Mentorship, mentorship_id)
            rotation = unit.get(Rotation, found.rotation_id)
            self._check(unit, "hold_mentor_session", mentorship=found)
            if found.status is not MentorshipStatus.AGREED:
                found.hold_session(session_kind, day, subject, actor=unit.actor)  # raises
            rotation.check_session_date(day)
            found.hold_session(session_kind, day, subject, actor=unit.actor)

        self._run(actor, command)

    def conclude_mentorship(
        self, mentorship: UUID | str, *, feedback: str, actor: str | None = None
    ) -> None:
        """End an agreed mentorship of a completed rotation, with the mentor's feedback."""
        mentorship_id, said = an_id("mentorship", mentorship), text("feedback", feedback)

        def command(unit: UnitOfWork) -> None:
            found = unit.get(Mentorship, mentorship_id)
            rotation = unit.get(Rotation, found.rotation_id)
            self._check(unit, "conclude_mentorship", mentorship=found)
            if found.status is MentorshipStatus.AGREED and (
                rotation.status is not RotationStatus.COMPLETED
            ):
                raise InvalidTransition(
                    f"mentorship {found.id} can be concluded once rotation {rotation.id} is "
                    f"completed; it is {rotation.status.value}",
                    mentorship=found.id,
                    rotation=rotation.id,
                )
            found.conclude(said, actor=unit.actor)

        self._run(actor, command)
