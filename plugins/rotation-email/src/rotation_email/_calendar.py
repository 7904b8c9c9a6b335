"""iCalendar (RFC 5545) invitations: one all-day event, stable UID, rising SEQUENCE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import attrs
from icalendar import Calendar, Event, vCalAddress, vText

__all__ = ["Invite"]

PRODID = "-//rotation-domain//rotation-email//EN"


@attrs.frozen
class Invite:
    """An all-day calendar entry, offered (``REQUEST``) or withdrawn (``CANCEL``).

    Attributes:
        uid: Stable for the thing it describes (a rotation, a briefing), so a change
            replaces the entry in the attendees' calendars.
        sequence: Raised on every change of the thing (the aggregate's version - 1).
        method: ``REQUEST`` or ``CANCEL``.
        summary: The entry's title.
        first_day: Its first day.
        last_day: Its last day (included).
        stamp: When it was recorded (the event's timestamp: the same on every retry).
        organizer: The sender's address.
        attendees: The recipients' addresses.
        description: Free text.
    """

    uid: str
    sequence: int
    method: str
    summary: str
    first_day: date
    last_day: date
    stamp: datetime
    organizer: str
    attendees: Sequence[str]
    description: str = ""

    def to_ical(self) -> str:
        """The text of a VCALENDAR holding one VEVENT."""
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("method", self.method)
        event = Event()
        event.add("uid", self.uid)
        event.add("sequence", self.sequence)
        event.add("dtstamp", self.stamp)
        event.add("dtstart", self.first_day)
        event.add("dtend", self.last_day + timedelta(days=1))  # DTEND is exclusive
        event.add("summary", self.summary)
        if self.description:
            event.add("description", self.description)
        event.add("status", "CANCELLED" if self.method == "CANCEL" else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        organizer = vCalAddress(f"mailto:{self.organizer}")
        organizer.params["cn"] = vText("IT rotation program")
        event.add("organizer", organizer)
        for attendee in self.attendees:
            address = vCalAddress(f"mailto:{attendee}")
            address.params["role"] = vText("REQ-PARTICIPANT")
            event.add("attendee", address, encode=False)
        calendar.add_component(event)
        text: bytes = calendar.to_ical()
        return text.decode("utf-8")
