"""The capacity view (R9): who is away on a day, against each cap of the policy in force.

It reads the month rosters' bookings, which are what the R9 caps count: a rotation holds
its place on every day of its window from the moment it is planned until it is
cancelled (a completed rotation keeps its dates), and its booking names its current
mentor (a decline, a transfer or a departure rebooks it without one).

There is one document per booked rotation, keyed by its start date, so a query scans
only the months that can hold a rotation covering the days asked for: back from the
first day by the longest window ever booked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from types import MappingProxyType

import attrs

from rotation_domain.consumers import Doc, Envelope, Rows, RowsReader, id_text
from rotation_domain.default_views._base import DatedDocs, HandlerView, days, iso, parse_day, topic
from rotation_domain.values import Policy

__all__ = ["AwayRow", "CapCount", "CapacityReport", "CapacityView"]

_BOOKINGS = DatedDocs("booking")
_LONGEST = "longest"
_POLICY = "policy"
_POLICY_FIELDS = (
    "max_length_days",
    "max_concurrent",
    "max_guests_per_department",
    "max_mentees_per_mentor",
    "require_briefing",
)


@attrs.frozen
class AwayRow:
    """One IT employee away on a rotation.

    Attributes:
        rotation_id: The rotation's id.
        participant: The IT employee's code.
        host_department: The department hosting them.
        mentor: Their current mentor's code, or None while the rotation has none.
        start: The rotation's first day.
        end: The rotation's last day (included).
    """

    rotation_id: str
    participant: str
    host_department: str
    mentor: str | None
    start: date
    end: date


@attrs.frozen
class CapCount:
    """A count of people away beside the cap that limits it.

    Attributes:
        subject: What is counted: a host department's code, a mentor's code, or
            ``program`` for the program-wide count.
        count: How many are away on the day.
        cap: The cap of the policy in force now. A count above it is possible: a rotation
            admitted under an earlier policy keeps its place when the caps are lowered.
    """

    subject: str
    count: int
    cap: int

    @property
    def over(self) -> bool:
        """Whether the count is above the cap."""
        return self.count > self.cap

    @property
    def free(self) -> int:
        """How many more the cap allows (0 when it is reached or passed)."""
        return max(0, self.cap - self.count)


@attrs.frozen
class CapacityReport:
    """Who is away on one day, and each count beside its cap.

    Attributes:
        day: The day reported on.
        away: Everyone away that day, by participant.
        program: Everyone away against the program-wide cap (``max_concurrent``).
        departments: Guests per host department against ``max_guests_per_department``,
            for the departments hosting someone that day, by code.
        mentors: Mentees per mentor against ``max_mentees_per_mentor``, for the mentors
            of the rotations under way that day, by code.
        policy: The policy in force now, whose caps are given.
    """

    day: date
    away: tuple[AwayRow, ...]
    program: CapCount
    departments: tuple[CapCount, ...]
    mentors: tuple[CapCount, ...]
    policy: Policy


def _booked(envelope: Envelope, rows: Rows) -> None:
    """A rotation booked in one month: the latest booking gives its window and mentor."""
    booking = envelope.event.booking
    ident, roster = id_text(booking.rotation_id), envelope.originator_key
    doc = _BOOKINGS.get(rows, ident) or {"rotation_id": ident, "rosters": []}
    doc["rosters"] = sorted({*doc["rosters"], roster})
    if envelope.position >= doc.get("position", 0):
        doc.update(
            participant=booking.participant,
            host_department=booking.host_department,
            mentor=booking.mentor,
            start=iso(booking.period.start),
            end=iso(booking.period.end),
            position=envelope.position,
        )
    _BOOKINGS.put(rows, ident, doc.get("start"), doc)
    length = (booking.period.end - booking.period.start).days + 1
    if length > (rows.get(_LONGEST) or {}).get("days", 0):
        rows.put(_LONGEST, {"days": length})


def _released(envelope: Envelope, rows: Rows) -> None:
    """A rotation no longer holds a place in one month; in none, it is gone."""
    ident, roster = id_text(envelope.event.rotation_id), envelope.originator_key
    doc = _BOOKINGS.get(rows, ident)
    if doc is None:
        return
    doc["rosters"] = [r for r in doc.get("rosters", []) if r != roster]
    if doc["rosters"]:
        _BOOKINGS.put(rows, ident, doc.get("start"), doc)
    else:
        _BOOKINGS.delete(rows, ident)


def _policy(envelope: Envelope, rows: Rows) -> None:
    """The program's policy: the latest one is in force."""
    current = rows.get(_POLICY)
    if current is None or envelope.position >= current["position"]:
        policy = envelope.event.policy
        doc = {name: getattr(policy, name) for name in _POLICY_FIELDS}
        rows.put(_POLICY, {"position": envelope.position, **doc})


_HANDLERS = {
    topic("RotationBooked"): _booked,
    topic("BookingReleased"): _released,
    topic("ProgramLaunched"): _policy,
    topic("ProgramPolicySet"): _policy,
}


def _away(doc: Doc) -> AwayRow | None:
    start, end = parse_day(doc.get("start")), parse_day(doc.get("end"))
    if start is None or end is None:
        return None
    return AwayRow(
        doc["rotation_id"], doc["participant"], doc["host_department"], doc["mentor"], start, end
    )


def _counts(counted: Iterable[str], cap: int) -> tuple[CapCount, ...]:
    return tuple(CapCount(s, n, cap) for s, n in sorted(Counter(counted).items()))


def _report(day: date, booked: list[AwayRow], policy: Policy) -> CapacityReport:
    away = tuple(
        sorted((a for a in booked if a.start <= day <= a.end), key=lambda a: a.participant)
    )
    return CapacityReport(
        day=day,
        away=away,
        program=CapCount("program", len(away), policy.max_concurrent),
        departments=_counts((a.host_department for a in away), policy.max_guests_per_department),
        mentors=_counts((a.mentor for a in away if a.mentor), policy.max_mentees_per_mentor),
        policy=policy,
    )


class CapacityView(HandlerView):
    """R9: per day, who is away, per host department and per mentor, against each cap."""

    name = "capacity"
    version = 1
    handlers = MappingProxyType(_HANDLERS)
    topics = frozenset(_HANDLERS)

    def policy(self, reader: RowsReader) -> Policy:
        """The policy in force now (the default `Policy` before the program is launched)."""
        doc = reader.get(_POLICY)
        if doc is None:
            return Policy()
        return Policy(**{name: doc[name] for name in _POLICY_FIELDS})

    def query(self, reader: RowsReader, on: date) -> CapacityReport:
        """Who is away on the day ``on``.

        Args:
            reader: The view's rows.
            on: The day.

        Returns:
            The day's report.
        """
        return self.query_range(reader, on, on)[0]

    def query_range(self, reader: RowsReader, start: date, end: date) -> tuple[CapacityReport, ...]:
        """One report per day from ``start`` to ``end``, both included.

        Args:
            reader: The view's rows.
            start: The first day.
            end: The last day (an end before the start gives no report).

        Returns:
            The reports, in day order.
        """
        if end < start:
            return ()
        longest = (reader.get(_LONGEST) or {}).get("days", 1)
        since = start - timedelta(days=longest - 1)
        booked = [a for doc in _BOOKINGS.between(reader, since, end) if (a := _away(doc))]
        booked = [a for a in booked if a.end >= start]
        policy = self.policy(reader)
        return tuple(_report(day, booked, policy) for day in days(start, end))
