"""The audit trail: timelines, the hash chain and its seals, and exports of the log.

The program's single ordered log is its audit trail. This module reads it for people:

* **Timelines** (`TimelineEntry`): one aggregate's history, or the whole log filtered
  by actor, recorded time, employee, event type or position. They are streamed a page
  of `PAGE_SIZE` events at a time, so memory does not grow with the log.
* **Tamper evidence**: a store that keeps an audit chain (SQLite and PostgreSQL, see
  `adapters.audit_chain`) links every stored event to its predecessor by a SHA-256 hash
  over its stored bytes (`chain_hash`). `verify_chain` recomputes the chain and names
  the first position where it breaks; an `AuditSeal` (head position and hash, kept
  outside the store) also catches a log cut back after it was sealed.
* **Exports** as JSON Lines or CSV, in a documented, versioned format
  (`EXPORT_FORMAT_VERSION`, `EXPORT_COLUMNS`; see docs/audit.md).

The stores are reached through ports (`AuditChainStore`, `AggregateLog`) that the
recorders in ``adapters`` implement; the core never imports them.
"""

from __future__ import annotations

import csv
import hashlib
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable
from uuid import UUID

import attrs
import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification

from rotation_domain._inputs import an_id
from rotation_domain.employee import Employee
from rotation_domain.errors import InvalidInput, RotationDomainError, UnknownId
from rotation_domain.program import Program
from rotation_domain.roster import MonthRoster

if TYPE_CHECKING:
    import threading

    from rotation_domain.event_consumers import Consumers
    from rotation_domain.time_travel import ProgramAsOf

__all__ = [
    "CHAIN_FORMAT",
    "EXPORT_COLUMNS",
    "EXPORT_FORMAT_VERSION",
    "GENESIS_HASH",
    "PAGE_SIZE",
    "SUMMARIES",
    "TextSink",
    "AggregateLog",
    "AuditChainStore",
    "AuditFilter",
    "AuditQueries",
    "AuditSeal",
    "AuditTrailBroken",
    "AuditVerification",
    "ChainRow",
    "TimelineEntry",
    "chain_hash",
    "entry_of",
    "originator_text",
    "summarise",
    "timeline",
    "verify_chain",
    "write_csv",
    "write_jsonl",
]

PAGE_SIZE: Final = 500
"""Events read from the store at a time by timelines and exports."""

# The hash chain.

CHAIN_FORMAT: Final = b"rotation-domain/audit-chain/1"
"""Names the chain's hashing rule; a different rule would get another name."""

GENESIS_HASH: Final = hashlib.sha256(CHAIN_FORMAT).digest()
"""The "previous hash" of the first event of a log."""

_U32: Final = struct.Struct(">I")
_I64: Final = struct.Struct(">q")


def originator_text(originator_id: UUID | str) -> str:
    """The text of an aggregate id as the chain hashes it: 32 lowercase hex digits."""
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def chain_hash(
    previous: bytes, position: int, topic: str, originator_id: str, version: int, state: bytes
) -> bytes:
    """The chain hash of one stored event.

    SHA-256 over the previous event's chain hash (`GENESIS_HASH` for the first), then
    the event's position (8 bytes, big-endian), its topic, originator id (as
    `originator_text` gives it) and stored state (each prefixed with its length in 4
    bytes, big-endian), and its version (8 bytes) between the id and the state. The
    state is hashed as stored: compressed and encrypted when the store is, so a
    verifier needs no key.

    Args:
        previous: The previous event's chain hash (32 bytes).
        position: The event's position in the log (its notification id).
        topic: The stored event's topic.
        originator_id: The aggregate id, as `originator_text` gives it.
        version: The aggregate version the event made.
        state: The stored state bytes.

    Returns:
        The 32-byte digest.
    """
    topic_bytes = topic.encode()
    id_bytes = originator_id.encode()
    return hashlib.sha256(
        b"".join(
            (
                previous,
                _I64.pack(position),
                _U32.pack(len(topic_bytes)),
                topic_bytes,
                _U32.pack(len(id_bytes)),
                id_bytes,
                _I64.pack(version),
                _U32.pack(len(state)),
                state,
            )
        )
    ).digest()


ChainRow = tuple[int, str | None, str | None, int | None, bytes | None, bytes | None]
"""One position of a stored log: ``(position, topic, originator_id, version, state,
chain_hash)``. The four event columns are None when no event is stored at a position
that has a chain entry; the hash is None when an event has no chain entry."""


class TextSink(Protocol):
    """Where an export writes: any object with a text ``write`` (a file, ``sys.stdout``)."""

    def write(self, text: str, /) -> object:
        """Write ``text``."""


@runtime_checkable
class AuditChainStore(Protocol):
    """A recorder that keeps the audit chain (the port; ``adapters`` implements it)."""

    def audit_chain_head(self) -> tuple[int, bytes] | None:
        """The last chain entry's position and hash, or None while the chain is empty."""

    def audit_chain_rows(self, *, upto: int | None = None) -> Iterator[ChainRow]:
        """Every position that holds an event or a chain entry, in position order.

        Read a page at a time, up to and including ``upto`` (the head when None: the
        larger of the last event's and the last chain entry's position).
        """


@runtime_checkable
class AggregateLog(Protocol):
    """A recorder that finds one aggregate's notifications by index (the port)."""

    def select_aggregate_notifications(
        self, originator_id: UUID, *, gt: int | None = None, limit: int = PAGE_SIZE
    ) -> Sequence[Notification]:
        """The aggregate's events after version ``gt``, by version, with their positions."""


@attrs.frozen
class AuditVerification:
    """The result of checking the audit chain.

    Attributes:
        ok: Whether every checked event matches its chain entry (and the seal, if one
            was given). False too when the store keeps no chain.
        checked: How many events were checked and found intact.
        head_position: The position of the last intact event (0 when none).
        head_hash: That event's chain hash, in hex (the genesis hash when none).
        broken_at: The first position where the chain breaks, or None.
        reason: Why it breaks there (empty when ``ok``).
        tamper_evident: Whether the store keeps an audit chain at all.
        seal_checked: Whether a seal was given and its position was found intact.
    """

    ok: bool
    checked: int
    head_position: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""
    tamper_evident: bool = True
    seal_checked: bool = False


@attrs.frozen
class AuditSeal:
    """The head of the audit chain at one moment, to keep outside the store.

    Checked later with ``program.verify_audit_trail(seal=...)``: the events up to
    ``position`` must still chain to ``hash``. That catches any change to them, and a
    log cut back to before ``position``, even by someone who rewrote the chain.

    Attributes:
        position: The last event's position when sealed.
        hash: Its chain hash, in hex.
        events: How many events were verified when sealing.
        sealed_at: When the seal was made (UTC).
        format_version: The seal document's format (1).
    """

    position: int
    hash: str
    events: int
    sealed_at: datetime
    format_version: int = 1

    def to_json(self) -> str:
        """The seal as a small JSON document (keep it somewhere the store cannot reach)."""
        return orjson.dumps(
            {
                "format": "rotation-domain/audit-seal",
                "format_version": self.format_version,
                "chain": CHAIN_FORMAT.decode(),
                "position": self.position,
                "hash": self.hash,
                "events": self.events,
                "sealed_at": self.sealed_at.isoformat(),
            },
            option=orjson.OPT_INDENT_2,
        ).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> AuditSeal:
        """Read a seal written by `to_json`.

        Raises:
            InvalidInput: the text is not a seal document of a known format.
        """
        try:
            doc = orjson.loads(text)
            if doc.get("format") != "rotation-domain/audit-seal" or doc["format_version"] != 1:
                raise ValueError("not a version-1 audit seal document")
            return cls(
                position=int(doc["position"]),
                hash=str(doc["hash"]),
                events=int(doc["events"]),
                sealed_at=datetime.fromisoformat(doc["sealed_at"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidInput(f"not an audit seal: {error}") from None


class AuditTrailBroken(RotationDomainError):
    """The audit chain does not verify, so the trail cannot be sealed."""


def verify_chain(rows: Iterable[ChainRow], seal: AuditSeal | None = None) -> AuditVerification:
    """Recompute the chain over stored rows and report the first position that breaks it.

    Args:
        rows: Every position holding an event or a chain entry, in order (as
            `AuditChainStore.audit_chain_rows` gives them).
        seal: A seal made earlier: its position must be reached with its hash.

    Returns:
        The verification; ``ok`` only when every row matches and the seal holds.
    """
    previous = GENESIS_HASH
    checked = head = 0
    seal_checked = False

    def broken(position: int, reason: str) -> AuditVerification:
        return AuditVerification(
            ok=False,
            checked=checked,
            head_position=head,
            head_hash=previous.hex(),
            broken_at=position,
            reason=reason,
            seal_checked=seal_checked,
        )

    for position, topic, originator_id, version, state, stored in rows:
        if seal is not None and not seal_checked and position > seal.position:
            return broken(
                seal.position,
                f"the sealed position {seal.position} holds no event any more",
            )
        if topic is None or originator_id is None or version is None or state is None:
            return broken(
                position, f"the event at position {position} was removed; its chain entry remains"
            )
        if stored is None:
            return broken(
                position,
                f"the event at position {position} has no chain entry: it was written "
                "around the recorder, or the chain was cut",
            )
        computed = chain_hash(previous, position, topic, originator_id, version, state)
        if computed != stored:
            return broken(
                position,
                f"the event at position {position} does not match its chain entry: its stored "
                "bytes were changed, it was moved, or an event before it was removed",
            )
        if seal is not None and position == seal.position:
            if computed.hex() != seal.hash:
                return broken(
                    position,
                    f"the log up to the sealed position {position} is not the one sealed: its "
                    f"chain hash is {computed.hex()}, the seal says {seal.hash}",
                )
            seal_checked = True
        previous, head = computed, position
        checked += 1
    if seal is not None and not seal_checked:
        return broken(
            seal.position,
            f"the log ends at position {head}, before the sealed position {seal.position}: "
            "events were removed after the seal",
        )
    return AuditVerification(
        ok=True,
        checked=checked,
        head_position=head,
        head_hash=previous.hex(),
        seal_checked=seal_checked,
    )


# Timeline entries.


@attrs.frozen
class TimelineEntry:
    """One recorded event, as an auditor reads it.

    Attributes:
        position: Its position in the program's log (the order things happened in).
        recorded_at: When it was recorded (UTC).
        business_date: The day it is about, when it has one (its ``on`` field, else its
            ``start``), which may differ from the day it was recorded.
        actor: Who caused it.
        event_type: The event's name, such as ``RotationPlanned``.
        topic: The event's stable topic, such as ``rotation_domain:RotationPlanned``.
        aggregate_id: The aggregate that recorded it.
        aggregate_version: The aggregate's version it made.
        summary: One line a person can read.
        data: The event's own fields as JSON values (dates as ISO text, ids as text).
    """

    position: int
    recorded_at: datetime
    business_date: date | None
    actor: str
    event_type: str
    topic: str
    aggregate_id: UUID
    aggregate_version: int
    summary: str
    data: Mapping[str, Any]

    def to_record(self) -> dict[str, Any]:
        """The entry as the JSON object an export writes (see `EXPORT_COLUMNS`)."""
        return {
            "position": self.position,
            "recorded_at": self.recorded_at.isoformat(),
            "business_date": self.business_date.isoformat() if self.business_date else None,
            "actor": self.actor,
            "event_type": self.event_type,
            "topic": self.topic,
            "aggregate_id": str(self.aggregate_id),
            "aggregate_version": self.aggregate_version,
            "summary": self.summary,
            "data": self.data,
        }


SUMMARIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ProgramLaunched": "The program was launched with its first policy",
        "ProgramPolicySet": (
            "Policy set: rotations of at most {policy[max_length_days]} days, "
            "{policy[max_concurrent]} away at once, {policy[max_guests_per_department]} "
            "guest(s) per department, {policy[max_mentees_per_mentor]} mentee(s) per mentor"
        ),
        "ReviewCycleOpened": "Review cycle {name} opened, from {start} to {end}",
        "ReviewCycleClosed": "Review cycle {name} closed on {on}",
        "ExemptionGranted": "{employee} exempted from review cycle {cycle}: {reason}",
        "DepartmentRegistered": "Department {code} ({name}) registered",
        "EmployeeRegistered": "Employee {code} ({name}) registered in {department}",
        "EmployeeTransferred": "Transferred from {from_department} to {to_department} on {on}",
        "EmployeeDeparted": "Left the company on {on}: {reason}",
        "EmployeeDetailsChanged": "Details changed: name {name}, e-mail {email}",
        "EmployeeAssigned": "Assigned to rotation {rotation_id} as {role}",
        "RotationPlanned": "{participant} planned to rotate into {host_department} "
        "from {start} to {end}",
        "RotationRescheduled": "Rotation moved to {start} - {end}",
        "MentorshipLinked": "{mentor} nominated as the rotation's mentor",
        "RotationStarted": "Rotation started on {on}",
        "ObservationRecorded": "Observation ({category}): {text}",
        "ImprovementLinked": "Improvement {improvement_id} proposed as the rotation's payback",
        "ImprovementUnlinked": "Improvement {improvement_id} no longer counts as payback",
        "RotationCompleted": "Rotation completed on {on}",
        "RotationCancelled": "Rotation cancelled: {reason}",
        "RotationFlagged": "Rotation flagged: {reason}",
        "MentorNominated": "{mentor} nominated to mentor {participant} in {host_department}",
        "MentorAgreed": "The mentor agreed",
        "MentorDeclined": "The mentor declined: {reason}",
        "MentorBriefed": "The mentor was briefed on {on}",
        "MentorSessionHeld": "Mentor session ({kind}) on {on}: {topic}",
        "MentorshipConcluded": "Mentorship concluded: {feedback}",
        "MentorshipReleased": "Mentorship released: {reason}",
        "ImprovementProposed": '{participant} proposed "{title}" to {host_department}',
        "ImprovementAdopted": "Improvement adopted on {on}",
        "ImprovementRejected": "Improvement rejected: {reason}",
        "ImprovementWithdrawn": "Improvement withdrawn",
        "RosterOpened": "Roster of {month} opened",
        "RotationBooked": (
            "{booking[participant]} booked into {booking[host_department]} "
            "from {booking[period][start]} to {booking[period][end]}"
        ),
        "BookingReleased": "Rotation {rotation_id} no longer holds a place this month",
    }
)
"""One-line summary templates by event type, filled from the entry's ``data``."""

_SUMMARY_LIMIT: Final = 240
_WHITESPACE: Final = re.compile(r"\s+")
_COMMON_FIELDS: Final = frozenset(
    {"originator_id", "originator_version", "timestamp", "actor", "originator_topic"}
)
_JSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS


def summarise(event_type: str, data: Mapping[str, Any], aggregate_version: int = 0) -> str:
    """A one-line summary of an event: its `SUMMARIES` template, or a generic line.

    An event type without a template (a plugin's, or a newer one), or whose data lacks
    a field its template names, still gets a line naming the type and its fields.
    """
    template = SUMMARIES.get(event_type)
    line = None
    if template is not None:
        try:
            line = template.format_map(data)
        except (KeyError, IndexError, TypeError, ValueError):
            line = None
    if line is None:
        fields = ", ".join(sorted(data)) or "no fields"
        line = f"{event_type} (version {aggregate_version} of its aggregate; {fields})"
    line = _WHITESPACE.sub(" ", line).strip()
    if len(line) > _SUMMARY_LIMIT:
        line = line[: _SUMMARY_LIMIT - 1] + "\u2026"
    return line


def _json_default(value: Any) -> Any:
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _business_date(event: Any) -> date | None:
    for name in ("on", "start"):
        found = getattr(event, name, None)
        if isinstance(found, date) and not isinstance(found, datetime):
            return found
    return None


def entry_of(position: int, topic: str, event: Any) -> TimelineEntry:
    """The timeline entry of a domain event recorded at ``position`` under ``topic``."""
    fields = {k: v for k, v in vars(event).items() if k not in _COMMON_FIELDS}
    data = orjson.loads(orjson.dumps(fields, default=_json_default, option=_JSON_OPTIONS))
    event_type = topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    version = int(event.originator_version)
    return TimelineEntry(
        position=position,
        recorded_at=event.timestamp,
        business_date=_business_date(event),
        actor=str(getattr(event, "actor", "")),
        event_type=event_type,
        topic=topic,
        aggregate_id=event.originator_id,
        aggregate_version=version,
        summary=summarise(event_type, data, version),
        data=data,
    )


# Filters and the streams they select.


def _aware(name: str, moment: datetime | None) -> datetime | None:
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
            since=_aware("since", since),
            until=_aware("until", until),
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


# Exports.

EXPORT_FORMAT_VERSION: Final = 1
"""The version of the export format; it changes when a column changes meaning."""

EXPORT_COLUMNS: Final = (
    "position",
    "recorded_at",
    "business_date",
    "actor",
    "event_type",
    "topic",
    "aggregate_id",
    "aggregate_version",
    "summary",
    "data",
)
"""The columns of an exported event, in order (docs/audit.md says what each holds)."""


def write_jsonl(
    entries: Iterable[TimelineEntry],
    out: TextSink,
    *,
    criteria: AuditFilter | None = None,
    exported_at: datetime | None = None,
) -> int:
    """Write entries as JSON Lines: a header line, one line per event, a trailer line.

    Args:
        entries: The entries, streamed: nothing is held but the line being written.
        out: A text stream.
        criteria: The filter that selected them, named in the header.
        exported_at: The export's time (now by default).

    Returns:
        How many events were written.
    """
    header = {
        "record": "header",
        "format": "rotation-domain/audit-export",
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": (exported_at or datetime.now(UTC)).isoformat(),
        "filter": criteria.describe() if criteria else {},
        "columns": list(EXPORT_COLUMNS),
    }
    out.write(orjson.dumps(header).decode() + "\n")
    count = 0
    last = None
    dumps = orjson.dumps
    for entry in entries:
        record = entry.to_record()
        out.write(dumps({"record": "event", **record}, option=_JSON_OPTIONS).decode() + "\n")
        count += 1
        last = entry.position
    trailer = {"record": "end", "events": count, "last_position": last}
    out.write(orjson.dumps(trailer).decode() + "\n")
    return count


def write_csv(entries: Iterable[TimelineEntry], out: TextSink) -> int:
    """Write entries as CSV: a header row, then one row per event.

    The first column, ``format_version``, holds `EXPORT_FORMAT_VERSION` on every row;
    the others are `EXPORT_COLUMNS`, with ``data`` as JSON text and an empty cell for
    a missing business date.

    Args:
        entries: The entries, streamed.
        out: A text stream opened with ``newline=""``.

    Returns:
        How many events were written.
    """
    writer = csv.writer(out)
    writer.writerow(("format_version", *EXPORT_COLUMNS))
    count = 0
    version = str(EXPORT_FORMAT_VERSION)
    for entry in entries:
        writer.writerow(
            (
                version,
                entry.position,
                entry.recorded_at.isoformat(),
                entry.business_date.isoformat() if entry.business_date else "",
                entry.actor,
                entry.event_type,
                entry.topic,
                str(entry.aggregate_id),
                entry.aggregate_version,
                entry.summary,
                orjson.dumps(entry.data, option=_JSON_OPTIONS).decode(),
            )
        )
        count += 1
    return count


_WRITERS: Final[Mapping[str, Callable[..., int]]] = MappingProxyType(
    {"jsonl": write_jsonl, "csv": write_csv}
)


# The program's audit queries.


class AuditQueries:
    """The audit queries of `RotationProgram` (a mixin: it needs ``app`` and ``consumers``)."""

    app: Application[UUID]
    consumers: Consumers
    _commands: threading.RLock

    def history(self, aggregate_id: UUID | str) -> Iterator[TimelineEntry]:
        """The timeline of one aggregate, oldest first (streamed).

        Raises:
            InvalidInput: the id is malformed.
        """
        return timeline(self.app, AuditFilter.of(aggregate=aggregate_id))

    def timeline(
        self,
        *,
        actor: str | None = None,
        employee: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        event_types: Iterable[str] = (),
        aggregate: UUID | str | None = None,
        after: int = 0,
        upto: int | None = None,
    ) -> Iterator[TimelineEntry]:
        """The program-wide timeline, filtered; every criterion given must hold.

        Args:
            actor: Only what this actor did.
            employee: Only what concerns this employee (see `AuditFilter`).
            since: Only events recorded at or after this moment (time-zone aware).
            until: Only events recorded before this moment.
            event_types: Only these types (``RotationPlanned``... or topics).
            aggregate: Only this aggregate's events.
            after: Only events after this position.
            upto: Only events up to and including this position.

        Returns:
            The entries in log order, read a page at a time.

        Raises:
            InvalidInput: a moment without a time zone, or a malformed id.
        """
        criteria = AuditFilter.of(
            actor=actor,
            employee=employee,
            since=since,
            until=until,
            event_types=event_types,
            aggregate=aggregate,
            after=after,
            upto=upto,
        )
        return timeline(self.app, criteria)

    def export_audit(self, out: TextSink, *, format: str = "jsonl", **criteria: Any) -> int:
        """Export the log, or the part the criteria select, in constant memory.

        Args:
            out: A text stream (for CSV, opened with ``newline=""``).
            format: ``jsonl`` or ``csv``.
            **criteria: As for `timeline` (``actor``, ``employee``, ``since``...).

        Returns:
            How many events were written.

        Raises:
            InvalidInput: an unknown format or a bad criterion.
        """
        if format not in _WRITERS:
            raise InvalidInput(f"format must be jsonl or csv, got {format!r}", field="format")
        try:
            selected = AuditFilter.of(**criteria)
        except TypeError as error:
            raise InvalidInput(f"unknown export criterion: {error}") from None
        entries = timeline(self.app, selected)
        if format == "csv":
            return write_csv(entries, out)
        return write_jsonl(entries, out, criteria=selected)

    def state_at(
        self,
        aggregate_id: UUID | str,
        *,
        at: datetime | None = None,
        version: int | None = None,
    ) -> Aggregate:
        """One aggregate as it was at a recorded moment, or at one of its versions.

        Args:
            aggregate_id: The aggregate's id.
            at: A time-zone aware moment: the state after every event of the aggregate
                recorded at or before it.
            version: The state after the event that made this version.

        Returns:
            The aggregate (a fresh object, not the program's cached one).

        Raises:
            InvalidInput: neither or both of ``at`` and ``version``, or a bad value.
            UnknownId: nothing was recorded with that id by then (or not that version).
        """
        wanted = an_id("id", aggregate_id)
        if (at is None) == (version is None):
            raise InvalidInput("give state_at either at= (a datetime) or version= (an int)")
        if at is not None:
            _aware("at", at)
            version = self._version_at(wanted, at)
            if version is None:
                raise UnknownId(
                    f"nothing with id {wanted} had been recorded by {at.isoformat()}",
                    id=wanted,
                    at=at,
                )
        if not isinstance(version, int) or version < 1:
            raise InvalidInput(f"version must be a positive integer, got {version!r}")
        try:
            with self._commands:
                found: Aggregate = self.app.repository.get(wanted, version=version)
        except AggregateNotFoundError:
            raise UnknownId(f"nothing recorded has id {wanted}", id=wanted) from None
        if found.version != version:
            raise UnknownId(
                f"{wanted} has no version {version} (its last is {found.version})",
                id=wanted,
                version=version,
            )
        return found

    def _version_at(self, aggregate_id: UUID, at: datetime) -> int | None:
        found = None
        to_event = self.app.mapper.to_domain_event
        for stored in self.app.recorder.select_events(aggregate_id):
            event: Any = to_event(stored)
            if event.timestamp <= at:
                found = int(event.originator_version)
        return found

    def as_of(self, at: datetime | None = None, *, position: int | None = None) -> ProgramAsOf:
        """The program as it knew things at a recorded moment (or log position).

        ``program.as_of(moment).views.capacity(on=day)`` answers "who was away on that
        day, as the program knew it at that moment": the view is folded, in memory,
        over the events recorded by then.

        Raises:
            InvalidInput: neither ``at`` nor ``position``, or a moment without time zone.
        """
        from rotation_domain.time_travel import ProgramAsOf  # it imports this module

        return ProgramAsOf(self, at=_aware("at", at), position=position)

    def verify_audit_trail(self, seal: AuditSeal | str | None = None) -> AuditVerification:
        """Recompute the audit chain and name the first position where it breaks.

        Args:
            seal: A seal made earlier (or its JSON): the log must still reach its
                position with its hash.

        Returns:
            The verification. On a store that keeps no chain (``memory:``) it is not
            ``ok`` and ``tamper_evident`` is False.
        """
        if isinstance(seal, str):
            seal = AuditSeal.from_json(seal)
        recorder = self.app.recorder
        if not isinstance(recorder, AuditChainStore):
            head = recorder.max_notification_id() or 0
            return AuditVerification(
                ok=False,
                checked=0,
                head_position=head,
                head_hash="",
                reason=f"this store ({type(recorder).__name__}) keeps no audit chain: it has "
                "no tamper evidence",
                tamper_evident=False,
            )
        return verify_chain(recorder.audit_chain_rows(), seal)

    def seal_audit_trail(self) -> AuditSeal:
        """Verify the whole chain and seal its head (keep ``seal.to_json()`` elsewhere).

        Raises:
            AuditTrailBroken: the chain does not verify, or the store keeps none.
        """
        checked = self.verify_audit_trail()
        if not checked.ok:
            raise AuditTrailBroken(
                f"the audit trail cannot be sealed: {checked.reason}",
                broken_at=checked.broken_at,
            )
        return AuditSeal(
            position=checked.head_position,
            hash=checked.head_hash,
            events=checked.checked,
            sealed_at=datetime.now(UTC),
        )
