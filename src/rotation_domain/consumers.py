"""What event consumers are: read models (views) and integrations, and the stores they need.

Every consumer has its own tracked position in the log. A *view* is updated together
with its position in one transaction, a page of events at a time, so it is exactly
once and can be rebuilt from zero. An *integration* has side effects outside the
store: it is delivered at least once, with an idempotency key per (consumer, event),
retried with backoff, and parked after its last attempt.

The stores are ports: `adapters` implements them for memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable
from uuid import UUID

import attrs

__all__ = [
    "ConsumerStore",
    "Delivery",
    "Envelope",
    "Integration",
    "PeriodicTask",
    "PositionConflict",
    "Rows",
    "RowsReader",
    "StateReader",
    "View",
    "ViewChanges",
    "ViewCommit",
    "event_name",
    "id_text",
    "key_for",
    "scan_over",
]

Doc = dict[str, Any]
ViewChanges = Mapping[str, Mapping[str, Doc | None]]
"""Per view, per row key: the new document, or None to delete the row."""


@functools.lru_cache(maxsize=1 << 16)
def id_text(ident: UUID) -> str:
    """An id as text, ``str(ident)``, made once while it is cached.

    Ids recur event after event; a cached one takes about a fifth of the time of ``str``.
    """
    return str(ident)


@functools.lru_cache(maxsize=256)
def event_name(topic: str) -> str:
    """The event name at the end of a topic."""
    return topic.rsplit(":", 1)[-1]


class _EnvelopeFields(NamedTuple):
    position: int
    topic: str
    originator_id: UUID
    originator_version: int
    event: Any
    originator_key: str
    name: str


_GIVEN = _EnvelopeFields._fields[:5]
"""The fields an `Envelope` is made from; ``originator_key`` and ``name`` follow from them."""


class Envelope(_EnvelopeFields):
    """One recorded event as a consumer receives it (immutable).

    Made as ``Envelope(position, topic, originator_id, originator_version, event)``;
    ``originator_key`` and ``name`` are derived from those. It is a named tuple: a
    catch-up makes one per event, and a tuple is made several times faster than a
    frozen attrs instance (ADR 0014).

    Attributes:
        position: The event's position in the program's log (the notification id).
        topic: The event's stable topic, such as ``rotation_domain:RotationPlanned``.
        originator_id: The id of the aggregate that recorded it.
        originator_version: The aggregate's version the event made.
        event: The domain event itself (its fields are attributes: ``event.actor``...).
        originator_key: The originator id as text, made once (views key rows with it).
        name: The event's name, such as ``RotationPlanned``.
    """

    __slots__ = ()

    def __new__(
        cls, position: int, topic: str, originator_id: UUID, originator_version: int, event: Any
    ) -> Envelope:
        """The envelope of ``event``, recorded at ``position`` of the log."""
        fields = (position, topic, originator_id, originator_version, event)
        return tuple.__new__(cls, (*fields, id_text(originator_id), event_name(topic)))

    def __getnewargs__(self) -> tuple[int, str, UUID, int, Any]:
        """What `Envelope` is made from again by `copy` and `pickle`."""
        return self[:5]

    def _replace(self, **changes: Any) -> Envelope:
        """A new envelope with some of the five given fields changed (the others derived)."""
        given = dict(zip(_GIVEN, self[:5], strict=True))
        unknown = changes.keys() - given.keys()
        if unknown:
            raise ValueError(f"an envelope is made from {_GIVEN}, not {sorted(unknown)}")
        given.update(changes)
        return Envelope(**given)

    @property
    def actor(self) -> str:
        """Who caused the event."""
        return str(getattr(self.event, "actor", ""))

    @property
    def timestamp(self) -> datetime:
        """When the event was recorded."""
        stamp: datetime = self.event.timestamp
        return stamp


class RowsReader(Protocol):
    """Read access to one view's rows: JSON documents by key."""

    def get(self, key: str) -> Doc | None:
        """The document stored under ``key``, or None."""

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """Every (key, document) whose key starts with ``prefix``, ordered by key."""


class Rows(RowsReader, Protocol):
    """Read and write access to one view's rows, inside the view's transaction."""

    def put(self, key: str, doc: Doc) -> None:
        """Store ``doc`` (a JSON-able dict) under ``key``."""

    def delete(self, key: str) -> None:
        """Remove the row under ``key``, if any."""


@runtime_checkable
class View(Protocol):
    """A read model: folds events into rows of its own.

    Attributes:
        name: Unique; also the name of the view's tracked position.
        version: Raise it when ``apply`` changes: the view is then rebuilt from zero.
        topics: The topics it needs (an empty set means every event).

    A view may also set ``personal_fields``, a set of the personal field names
    (``PERSONAL_FIELDS`` of the events) its ``apply`` reads: the others then reach it
    as `WITHHELD` and are not decrypted for it. A view without the attribute gets
    every personal field opened.

    A view may set ``rebuilds_in_place = True`` when its ``apply`` changes a document
    only after asking ``rows.edit(key)`` for it (when the rows have ``edit``) and always
    puts what it changed: from position 0 it is then rebuilt with its documents in
    memory, changed where they lie (`rotation_domain.rebuild`).
    """

    name: str
    version: int
    topics: frozenset[str]

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        """Fold one event into the view's rows. Must not have side effects elsewhere."""


@runtime_checkable
class Integration(Protocol):
    """A consumer with side effects outside the store (e-mail, HRIS, webhooks).

    Attributes:
        name: Unique; also the name of its tracked position and dead-letter list.
        topics: The topics it needs (an empty set means every event).
        max_attempts: Deliveries tried before the event is parked.
    """

    name: str
    topics: frozenset[str]
    max_attempts: int

    def deliver(self, envelope: Envelope, idempotency_key: str) -> None:
        """Perform the side effect for one event; raise to have it retried.

        The same ``idempotency_key`` is given for every attempt at the same event,
        across restarts, so the receiving side can recognise a repeat.

        An integration may also define ``bind(state: StateReader) -> None``: it is then
        called once, before any delivery, with read access to the aggregates.
        """


class StateReader(Protocol):
    """Read access to the recorded state, for integrations that need more than the event.

    An integration with a ``bind(state: StateReader)`` method is given one when the
    program opens (an e-mail integration looks up the participant's address, say).
    """

    def get(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """A copy of one aggregate, as of ``version`` (its current state without it).

        Raises:
            KeyError: nothing was recorded with that id (or not that many versions).
        """

    def events(
        self, topics: frozenset[str] = frozenset(), *, after: int = 0, upto: int | None = None
    ) -> Iterator[Envelope]:
        """The recorded events with those topics (all without), in log order.

        Read a page at a time, from the position after ``after`` up to and including
        ``upto`` (the head without it): an integration that keeps its own picture of the
        directory reads only what is new since it last looked.

        An integration answering one event with what the program knew then passes that
        event's position: its message is the same however late it is delivered.
        """


@runtime_checkable
class PeriodicTask(Protocol):
    """Work that depends on the date, not on an event (a reminder before a rotation starts).

    ``rotation worker`` runs each task every ``interval_seconds`` (on PostgreSQL, in one
    worker at a time); an embedded host calls `RotationProgram.run_due_tasks` from its
    scheduler. A task must be safe to run again: a worker that dies mid-run, or two runs
    close together, must not send anything twice.

    Attributes:
        name: Unique among the program's tasks.
        interval_seconds: How long to wait between two runs.
    """

    name: str
    interval_seconds: float

    def run(self, program: Any, now: datetime) -> object:
        """Do the work due at ``now`` for ``program`` (an open `RotationProgram`)."""


@attrs.frozen
class ViewCommit:
    """One view's page: its row changes and the move of its position."""

    consumer: str
    version: int
    changes: ViewChanges
    expected: int
    position: int


@attrs.frozen
class Delivery:
    """An integration's failing or parked event."""

    consumer: str
    position: int
    attempts: int
    status: str
    """``retrying`` (another attempt is due at ``next_attempt_at``) or ``parked``."""
    last_error: str
    next_attempt_at: datetime | None = None


class ConsumerStore(Protocol):
    """Positions, view rows and deliveries, kept in the same database as the events."""

    def position(self, consumer: str) -> int:
        """The position of the last event the consumer finished (0 before any)."""

    def view_version(self, consumer: str) -> int | None:
        """The view version the consumer's rows were built with, if any."""

    def reader(self, view: str) -> RowsReader:
        """Read access to a view's committed rows."""

    def commit_view(
        self, consumer: str, version: int, changes: ViewChanges, *, expected: int, position: int
    ) -> None:
        """Write row changes and move the position from ``expected`` to ``position``.

        One transaction. Raises `PositionConflict` (and writes nothing) if the stored
        position is not ``expected``: another runner got there first.
        """

    def commit_views(self, commits: Sequence[ViewCommit]) -> None:
        """Do several `commit_view` calls in ONE transaction: all of them or none.

        Raises `PositionConflict` (and writes nothing) if any stored position is not
        the commit's ``expected``.
        """

    def reset_view(self, consumer: str, views: Sequence[str]) -> None:
        """Drop the consumer's rows and position, so it is rebuilt from zero."""

    def reset_views(self, consumers: Sequence[str]) -> None:
        """`reset_view` of each consumer and its view of the same name, in ONE transaction."""

    def bulk_writes(self) -> AbstractContextManager[None]:
        """A block of large commits (a rebuild): the store may tune itself for them.

        Everything committed in the block is as safe as any commit, and the store is
        back to its usual settings when the block ends, however it ends.
        """

    def advance(self, consumer: str, *, expected: int, position: int) -> None:
        """Move an integration's position; `PositionConflict` if it is not ``expected``."""

    def record_failure(self, delivery: Delivery) -> None:
        """Remember a failed attempt (``retrying``) or a parked event (``parked``)."""

    def failures(self, consumer: str) -> list[Delivery]:
        """The consumer's failing and parked events, oldest first."""

    def clear_failure(self, consumer: str, position: int) -> None:
        """Forget the failure record of one event (delivered, retried or skipped)."""

    def positions(self) -> Mapping[str, int]:
        """Every consumer's position."""

    def close(self) -> None:
        """Release connections."""


class PositionConflict(Exception):
    """Another runner moved the consumer's position first; re-read and carry on."""


def key_for(*parts: object) -> str:
    """A row key made of parts, ordered sensibly by text (numbers zero-padded)."""
    return "/".join(f"{p:012d}" if isinstance(p, int) else str(p) for p in parts)


def scan_over(
    below: Iterator[tuple[str, Doc]], changes: Mapping[str, Doc | None], prefix: str
) -> Iterator[tuple[str, Doc]]:
    """Rows ``below`` with ``changes`` on top (None deletes), for keys under ``prefix``, by key.

    What a scan sees through rows that keep changes over the committed ones.
    """
    merged = dict(below)
    for key, doc in changes.items():
        if key.startswith(prefix):
            if doc is None:
                merged.pop(key, None)
            else:
                merged[key] = doc
    return iter(sorted(merged.items()))
