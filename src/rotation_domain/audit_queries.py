"""The program's audit queries: history, timeline, export, state_at, as_of, verify, seal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from rotation_domain._inputs import an_id
from rotation_domain.audit_chain_rules import (
    AuditChainStore,
    AuditSeal,
    AuditTrailBroken,
    AuditVerification,
    verify_chain,
)
from rotation_domain.audit_entries import TimelineEntry
from rotation_domain.audit_export import WRITERS, TextSink, write_csv, write_jsonl
from rotation_domain.audit_timeline import AuditFilter, aware, timeline
from rotation_domain.errors import InvalidInput, UnknownId

if TYPE_CHECKING:
    import threading

    from rotation_domain.event_consumers import Consumers
    from rotation_domain.time_travel import ProgramAsOf

__all__ = ["AuditQueries"]


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
        if format not in WRITERS:
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
            aware("at", at)
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

        return ProgramAsOf(self, at=aware("at", at), position=position)

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
