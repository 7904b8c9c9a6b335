"""The MonthRoster aggregate: the Program's bookings for one calendar month (R9).

The caps of R9 are counted per day across every rotation, so they need one place
that sees all the rotations of a day and that two concurrent planners both write
to. Each month is such a place: a rotation books a place in the roster of every
month its window touches, in the same transaction that records the rotation, so
two planners who compete for the same days conflict and one of them retries
against the other's booking. Splitting the bookings by month keeps each roster
small however long the program runs (see docs/decisions/0002-bookings-by-month.md).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any, Self
from uuid import UUID

import attrs

from rotation_domain._aggregate import ProgramAggregate, stable_id
from rotation_domain.policies import Booking, check_caps
from rotation_domain.values import DateRange, Policy

__all__ = ["MonthRoster", "month_key", "months_of"]


def month_key(day: date) -> str:
    """The roster key of the month of ``day``, as ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def months_of(period: DateRange) -> list[str]:
    """The keys of every month the period touches, in order."""
    keys = []
    year, month = period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def _month_range(key: str) -> DateRange:
    year, month = int(key[:4]), int(key[5:7])
    first = date(year, month, 1)
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return DateRange(first, date.fromordinal(after.toordinal() - 1))


class MonthRoster(ProgramAggregate, created_event_name="RosterOpened"):
    """Who is booked away on the days of one month, and with which host and mentor."""

    TOPIC = "rotation_domain:MonthRoster"

    month: str
    bookings: dict[UUID, Booking]

    class Event(ProgramAggregate.Event):
        """Base of the roster's events."""

    class RosterOpened(Event, ProgramAggregate.Created):
        """The first booking touched this month."""

        TOPIC = "rotation_domain:RosterOpened"
        month: str

    Created = RosterOpened

    class RotationBooked(Event):
        """A rotation holds (or moved) its place on days of this month."""

        TOPIC = "rotation_domain:RotationBooked"
        booking: Booking

        def apply(self, aggregate: MonthRoster) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.bookings = {**aggregate.bookings, self.booking.rotation_id: self.booking}

    class BookingReleased(Event):
        """A rotation no longer holds a place in this month (cancelled or moved away)."""

        TOPIC = "rotation_domain:BookingReleased"
        rotation_id: UUID

        def apply(self, aggregate: MonthRoster) -> None:
            """Evolve the aggregate's state by this event."""
            bookings = dict(aggregate.bookings)
            del bookings[self.rotation_id]
            aggregate.bookings = bookings

    def __init__(self, month: str) -> None:
        self.month = month
        self.bookings = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """The copy `copy.deepcopy` would make, without walking every booking.

        The bookings and their ids cannot change, so a new dict holding the same ones
        shares nothing changeable with this roster: a month of 281 bookings copies in
        microseconds instead of 1.4 ms (what `RotationProgram.get` pays for its copy).
        """
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        state = {
            name: dict(value) if name == "bookings" else copy.deepcopy(value, memo)
            for name, value in vars(self).items()
        }
        vars(clone).update(state)
        return clone

    @staticmethod
    def id_for(month: str) -> UUID:
        """The aggregate id of the roster of a month (``YYYY-MM``)."""
        return stable_id("roster", month)

    @classmethod
    def open(cls, month: str, *, actor: str) -> MonthRoster:
        """Start the roster of a month."""
        _month_range(month)  # validates the key
        return cls._create(cls.RosterOpened, id=cls.id_for(month), actor=actor, month=month)

    @property
    def days(self) -> DateRange:
        """The days of the roster's month."""
        return _month_range(self.month)

    def book(self, booking: Booking, policy: Policy, *, actor: str) -> None:
        """Hold the booking's place on this month's days, if every R9 cap allows it."""
        check_caps(policy, self.bookings.values(), booking, self.days)
        if self.bookings.get(booking.rotation_id) != booking:
            self._trigger(self.RotationBooked, actor=actor, booking=booking)

    def assign_mentor(
        self, rotation_id: UUID, mentor: str | None, policy: Policy, *, actor: str
    ) -> None:
        """Set (checking only the mentor's cap) or clear the mentor of a held booking."""
        held = self.bookings.get(rotation_id)
        if held is None or held.mentor == mentor:
            return
        booking = attrs.evolve(held, mentor=mentor)
        if mentor is not None:
            check_caps(policy, self.bookings.values(), booking, self.days, mentor_only=True)
        self._trigger(self.RotationBooked, actor=actor, booking=booking)

    def release(self, rotation_id: UUID, *, actor: str) -> None:
        """Give up the rotation's place in this month, if it holds one."""
        if rotation_id in self.bookings:
            self._trigger(self.BookingReleased, actor=actor, rotation_id=rotation_id)
