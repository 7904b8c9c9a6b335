"""Which messages an event calls for, and their content: deterministic for the event."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from uuid import UUID

import attrs
from rotation_domain.consumers import Envelope

from rotation_email._calendar import Invite
from rotation_email._settings import EmailSettings
from rotation_email._templates import Templates
from rotation_email._world import Person, World

__all__ = ["MAIL_TOPICS", "Composer", "Outgoing", "message_id_for"]

MAIL_TOPICS = frozenset(
    f"rotation_domain:{name}"
    for name in (
        "MentorNominated",
        "MentorAgreed",
        "MentorBriefed",
        "MentorSessionHeld",
        "ImprovementAdopted",
        "ReviewCycleOpened",
        "RotationPlanned",
        "RotationRescheduled",
        "RotationCancelled",
    )
)
"""The events that send mail."""

NOBODY = "not on record"


def message_id_for(key: str, part: str, domain: str) -> str:
    """The Message-ID of one message of a delivery: the same for every attempt.

    Args:
        key: The delivery's idempotency key (or a reminder's own key).
        part: Which of the delivery's messages (one event may send several).
        domain: The sender's domain.
    """
    digest = hashlib.sha256(f"{key}\n{part}".encode()).hexdigest()[:32]
    return f"<{digest}.rotation@{domain}>"


def day(value: date) -> str:
    """A business date as people read it: ``Mon 4 Jan 2027``."""
    return f"{value:%a} {value.day} {value:%b %Y}"


@attrs.frozen
class Outgoing:
    """One message ready to send, with the key that recognises it."""

    kind: str
    message_id: str
    message: EmailMessage = attrs.field(eq=False)


class CompositionError(ValueError):
    """The event's message cannot be written (a malformed address in the directory)."""


@attrs.frozen
class _Draft:
    kind: str
    part: str
    to: Sequence[Person]
    cc: Sequence[Person]
    values: dict[str, str]
    invite: Invite | None = None


class Composer:
    """Writes the messages of events (and reminders) from what the program knew."""

    def __init__(self, settings: EmailSettings, templates: Templates) -> None:
        self.settings = settings
        self.templates = templates

    # ------------------------------------------------------------ events

    def for_event(self, envelope: Envelope, key: str, world: World) -> list[Outgoing]:
        """The messages ``envelope`` calls for, given ``world`` as of its position."""
        drafts = self._drafts(envelope, world)
        return [self._build(draft, key, envelope.timestamp) for draft in drafts if draft.to]

    def _drafts(self, envelope: Envelope, world: World) -> list[_Draft]:
        name, event = envelope.name, envelope.event
        if name == "ReviewCycleOpened":
            return self._cycle(envelope, world)
        if name in ("RotationPlanned", "RotationRescheduled", "RotationCancelled"):
            return self._window(envelope, world)
        if name == "ImprovementAdopted":
            return self._adopted(envelope, world)
        mentoring = world.mentorships.get(envelope.originator_id)
        if mentoring is None:
            return []
        rotation = world.rotations[mentoring.rotation]
        mentor = world.people.get(mentoring.mentor)
        participant = world.people.get(mentoring.participant)
        if mentor is None or participant is None:
            return []
        host = world.department_name(rotation.host_department)
        if name == "MentorNominated":
            values = {
                "mentor_name": mentor.name,
                "participant_name": participant.name,
                "participant_email": participant.email,
                "host_department": host,
                "start": day(rotation.start),
                "end": day(rotation.end),
                "nominated_by": envelope.actor,
            }
            return [_Draft("mentor_nominated", "mentor", _active(mentor), (), values)]
        if name == "MentorAgreed":
            manager = world.manager_of(participant)
            values = {
                "participant_name": participant.name,
                "manager_name": manager.name if manager else NOBODY,
                "mentor_name": mentor.name,
                "host_department": host,
                "start": day(rotation.start),
                "end": day(rotation.end),
            }
            return [
                _Draft("mentor_agreed", "agreed", _active(participant), _active(manager), values)
            ]
        if name == "MentorBriefed":
            values = {
                "mentor_name": mentor.name,
                "participant_name": participant.name,
                "host_department": host,
                "day": day(event.on),
                "briefed_by": envelope.actor,
            }
            invite = self._invite(
                f"briefing-{envelope.originator_id}",
                envelope,
                "REQUEST",
                f"Mentor briefing: IT rotation program ({host})",
                event.on,
                event.on,
                [mentor],
            )
            return [_Draft("mentor_briefing", "briefing", _active(mentor), (), values, invite)]
        if name == "MentorSessionHeld":
            kind = str(getattr(event.kind, "value", event.kind))
            values = {
                "participant_name": participant.name,
                "mentor_name": mentor.name,
                "host_department": host,
                "kind": kind,
                "topic": event.topic,
                "day": day(event.on),
            }
            invite = self._invite(
                f"session-{envelope.originator_id}-{envelope.originator_version}",
                envelope,
                "REQUEST",
                f"Mentor session ({kind}): {event.topic}",
                event.on,
                event.on,
                [participant, mentor],
                sequence=0,
            )
            people = [*_active(participant), *_active(mentor)]
            return [_Draft("mentor_session", "session", people, (), values, invite)]
        return []

    def _window(self, envelope: Envelope, world: World) -> list[_Draft]:
        rotation = world.rotations.get(envelope.originator_id)
        if rotation is None:
            return []
        participant = world.people.get(rotation.participant)
        mentor = world.mentor_of(envelope.originator_id)
        host = world.department_name(rotation.host_department)
        cancelled = envelope.name == "RotationCancelled"
        kind = {
            "RotationPlanned": "rotation_planned",
            "RotationRescheduled": "rotation_rescheduled",
            "RotationCancelled": "rotation_cancelled",
        }[envelope.name]
        values = {
            "participant_name": participant.name if participant else rotation.participant,
            "mentor_name": mentor.name if mentor else "none yet",
            "host_department": host,
            "start": day(rotation.start),
            "end": day(rotation.end),
        }
        if cancelled:
            values["reason"] = envelope.event.reason
        attendees = [p for p in (participant, mentor) if p is not None]
        invite = self._invite(
            f"rotation-{envelope.originator_id}",
            envelope,
            "CANCEL" if cancelled else "REQUEST",
            f"IT rotation: {values['participant_name']} in {host}",
            rotation.start,
            rotation.end,
            attendees,
        )
        to = _active(participant)
        cc = _active(mentor)
        if not to:  # the participant left: the mentor still needs the cancellation
            to, cc = cc, ()
        return [_Draft(kind, "window", to, cc, values, invite)]

    def _adopted(self, envelope: Envelope, world: World) -> list[_Draft]:
        proposal = world.proposals.get(envelope.originator_id)
        if proposal is None:
            return []
        participant = world.people.get(proposal.participant)
        if participant is None:
            return []
        manager = world.manager_of(participant)
        values = {
            "participant_name": participant.name,
            "manager_name": manager.name if manager else NOBODY,
            "title": proposal.title,
            "host_department": world.department_name(proposal.host_department),
            "day": day(envelope.event.on),
            "adopted_by": envelope.actor,
        }
        return [
            _Draft("improvement_adopted", "thanks", _active(participant), _active(manager), values)
        ]

    def _cycle(self, envelope: Envelope, world: World) -> list[_Draft]:
        event = envelope.event
        drafts = []
        for person in world.without_rotation(event.start, event.end, event.name):
            manager = world.manager_of(person)
            values = {
                "employee_name": person.name,
                "manager_name": manager.name if manager else NOBODY,
                "cycle": event.name,
                "start": day(event.start),
                "end": day(event.end),
            }
            drafts.append(
                _Draft("cycle_opened", f"cycle/{person.code}", [person], _active(manager), values)
            )
        return drafts

    # ------------------------------------------------------------ reminders

    def reminder(
        self, rotation_id: UUID, world: World, today: date, sent_at: datetime
    ) -> Outgoing | None:
        """The reminder of a planned rotation, keyed by the rotation and its start."""
        rotation = world.rotations[rotation_id]
        participant = world.people.get(rotation.participant)
        if participant is None or not participant.active:
            return None
        mentor = world.mentor_of(rotation_id)
        values = {
            "participant_name": participant.name,
            "mentor_name": mentor.name if mentor else "none yet",
            "host_department": world.department_name(rotation.host_department),
            "start": day(rotation.start),
            "end": day(rotation.end),
            "days_left": str((rotation.start - today).days),
        }
        draft = _Draft("rotation_reminder", "reminder", [participant], _active(mentor), values)
        key = f"reminder:{rotation_id}:{rotation.start.isoformat()}"
        return self._build(draft, key, sent_at)

    # ------------------------------------------------------------ building

    def _invite(
        self,
        uid: str,
        envelope: Envelope,
        method: str,
        summary: str,
        first: date,
        last: date,
        attendees: Sequence[Person],
        *,
        sequence: int | None = None,
    ) -> Invite:
        return Invite(
            uid=f"{uid}@{self.settings.domain}",
            sequence=envelope.originator_version - 1 if sequence is None else sequence,
            method=method,
            summary=summary,
            first_day=first,
            last_day=last,
            stamp=envelope.timestamp,
            organizer=self.settings.sender_address,
            attendees=[person.email for person in attendees],
        )

    def _build(self, draft: _Draft, key: str, stamp: datetime) -> Outgoing:
        rendered = self.templates.render(
            draft.kind, {**draft.values, "program_sender": self.settings.sender}
        )
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = [_address(person) for person in draft.to]
        cc = [person for person in draft.cc if person.code not in {p.code for p in draft.to}]
        if cc:
            message["Cc"] = [_address(person) for person in cc]
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(stamp)
        message_id = message_id_for(key, draft.part, self.settings.domain)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Rotation-Message"] = draft.kind
        message["X-Rotation-Idempotency-Key"] = key
        message.set_content(rendered.text)
        if rendered.html is not None:
            message.add_alternative(rendered.html, subtype="html")
        if draft.invite is not None:
            message.add_attachment(
                draft.invite.to_ical(),
                subtype="calendar",
                filename="invite.ics",
                params={"method": draft.invite.method},
            )
        return Outgoing(draft.kind, message_id, message)


def _active(person: Person | None) -> tuple[Person, ...]:
    return (person,) if person is not None and person.active and person.email else ()


def _address(person: Person) -> Address:
    try:
        return Address(display_name=person.name, addr_spec=person.email)
    except (ValueError, IndexError) as error:
        raise CompositionError(
            f"employee {person.code}'s e-mail address {person.email!r} is not valid: {error}"
        ) from None
