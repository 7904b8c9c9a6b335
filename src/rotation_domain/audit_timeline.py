"""Timelines: the events a filter selects, streamed from the log a page at a time.

`AuditFilter` says which events are wanted (aggregate, actor, employee, recorded time,
event type, positions); `timeline` reads them `PAGE_SIZE` at a time, so memory does not
grow with the log. `AggregateLog` is the port a recorder implements to find one
aggregate's events by index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, Protocol, runtime_checkable
from uuid import UUID

import attrs
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification

from rotation_domain._inputs import an_id
from rotation_domain.audit_entries import TimelineEntry, entry_of
from rotation_domain.employee import Employee
from rotation_domain.errors import InvalidInput
from rotation_domain.program import Program
from rotation_domain.roster import MonthRoster

__all__ = [
    "PAGE_SIZE",
    "AggregateLog",
    "AuditFilter",
    "aggregate_notifications",
    "aware",
    "timeline",
]

PAGE_SIZE: Final = 500
"""Events read from the store at a time by timelines and exports."""


@runtime_checkable
class AggregateLog(Protocol):
    """A recorder that finds one aggregate's notifications by index (the port)."""

    def select_aggregate_notifications(
        self, originator_id: UUID, *, gt: int | None = None, limit: int = PAGE_SIZE
    ) -> Sequence[Notification]:
        """The aggregate's events after version ``gt``, by version, with their positions."""


def aware(name: str, moment: datetime | None) -> datetime | None:
    """The moment, checked to be a time-zone aware datetime (or None).

    Raises:
        InvalidInput: ``moment`` is not a datetime, or has no time zone.
    """
    if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
        raise InvalidInput(
            f"{name} must be a datetime with a time zone (recorded times are UTC), got {moment!r}",
            field=name,
        )
    return moment


def _topic_of(event_type: str) -> str:
    return event_type if ":" in event_type else f"rotation_domain:{event_type}"


@attrs.frozen
class AuditFilter:
    """Which events a timeline or export selects; every given criterion must hold.

    Attributes:
        aggregate: Only this aggregate's events.
        actor: Only events caused by this actor.
        employee: Only events that concern this employee (by code): their Employee
            aggregate; the rotations they take part in or mentor, with their bookings;
            the mentorships they are mentor or mentee in; the improvements they
            proposed; the exemptions granted to them.
        since: Only events recorded at or after this moment (a time-zone aware datetime).
        until: Only events recorded before this moment.
        event_types: Only these event types (names such as ``RotationPlanned``, or topics).
        after: Only events after this position.
        upto: Only events up to and including this position.
    """

    aggregate: UUID | None = None
    actor: str | None = None
    employee: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_types: frozenset[str] = frozenset()
    after: int = 0
    upto: int | None = None

    @classmethod
    def of(
        cls,
        *,
        aggregate: UUID | str | None = None,
        actor: str | None = None,
        employee: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        event_types: Iterable[str] = (),
        after: int = 0,
        upto: int | None = None,
    ) -> AuditFilter:
        """A filter from loosely typed arguments, checked.

        Raises:
            InvalidInput: an id is malformed or a moment has no time zone.
        """
        if isinstance(event_types, str):
            event_types = (event_types,)
        return cls(
            aggregate=an_id("aggregate", aggregate) if aggregate is not None else None,
            actor=actor,
            employee=employee,
            since=aware("since", since),
            until=aware("until", until),
            event_types=frozenset(_topic_of(t) for t in event_types),
            after=after,
            upto=upto,
        )

    def describe(self) -> dict[str, Any]:
        """The criteria given, as JSON values (for an export's header)."""
        doc: dict[str, Any] = {
            "aggregate": str(self.aggregate) if self.aggregate else None,
            "actor": self.actor,
            "employee": self.employee,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "event_types": sorted(self.event_types) or None,
            "after": self.after or None,
            "upto": self.upto,
        }
        return {k: v for k, v in doc.items() if v is not None}


def _notifications(
    app: Application[Any], *, after: int = 0, upto: int | None = None, topics: Sequence[str] = ()
) -> Iterator[Notification]:
    wanted = sorted(topics)
    while True:
        page = app.recorder.select_notifications(
            start=after, limit=PAGE_SIZE, stop=upto, topics=wanted, inclusive_of_start=False
        )
        yield from page
        if len(page) < PAGE_SIZE:
            return
        after = page[-1].id


def aggregate_notifications(app: Application[Any], aggregate_id: UUID) -> Iterator[Notification]:
    """One aggregate's notifications in version order, by index when the store has one."""
    recorder = app.recorder
    if isinstance(recorder, AggregateLog):
        gt: int | None = None
        while True:
            page = recorder.select_aggregate_notifications(aggregate_id, gt=gt, limit=PAGE_SIZE)
            yield from page
            if len(page) < PAGE_SIZE:
                return
            gt = page[-1].originator_version
    else:  # the memory store: scan the log
        for notification in _notifications(app):
            if notification.originator_id == aggregate_id:
                yield notification


_SHARED_TOPICS: Final = frozenset(
    cls.TOPIC
    for owner in (Program, MonthRoster)
    for cls in vars(owner).values()
    if isinstance(cls, type) and issubclass(cls, Aggregate.Event) and hasattr(cls, "TOPIC")
)
"""Events of aggregates every employee shares: they never make the aggregate theirs."""

_PERSON_FIELDS: Final = ("participant", "mentor", "employee")


class _Concerns:
    """Follows the log to tell which events concern one employee.

    An aggregate becomes the employee's when an event of it names them (as participant,
    mentor or employee); its later events concern them too. The Program's and month
    rosters' events concern them one by one (an exemption, a booking).
    """

    def __init__(self, code: str) -> None:
        self.code = code
        self.mine: set[UUID] = {Employee.id_for(code)}

    def __call__(self, topic: str, event: Any) -> bool:
        originator = event.originator_id
        if originator in self.mine:
            return True
        booking = getattr(event, "booking", None)
        named = any(getattr(event, f, None) == self.code for f in _PERSON_FIELDS) or (
            booking is not None
            and self.code
            in (getattr(booking, "participant", None), getattr(booking, "mentor", None))
        )
        if named:
            if topic not in _SHARED_TOPICS:
                self.mine.add(originator)
            return True
        rotation_id = getattr(event, "rotation_id", None)
        return rotation_id is not None and rotation_id in self.mine


def timeline(app: Application[Any], criteria: AuditFilter) -> Iterator[TimelineEntry]:
    """The entries of the events ``criteria`` selects, in log order, a page at a time."""
    source: Iterator[Notification]
    if criteria.aggregate is not None:
        source = (
            n
            for n in aggregate_notifications(app, criteria.aggregate)
            if n.id > criteria.after and (criteria.upto is None or n.id <= criteria.upto)
        )
    else:
        server_side = sorted(criteria.event_types) if criteria.employee is None else []
        source = _notifications(app, after=criteria.after, upto=criteria.upto, topics=server_side)
    concerns = _Concerns(criteria.employee) if criteria.employee is not None else None
    to_event = app.mapper.to_domain_event
    for notification in source:
        topic = notification.topic
        event: Any = to_event(notification)
        if concerns is not None and not concerns(topic, event):
            continue
        if criteria.event_types and topic not in criteria.event_types:
            continue
        if criteria.actor is not None and getattr(event, "actor", None) != criteria.actor:
            continue
        stamp: datetime = event.timestamp
        if criteria.since is not None and stamp < criteria.since:
            continue
        if criteria.until is not None and stamp >= criteria.until:
            continue
        yield entry_of(notification.id, topic, event)
