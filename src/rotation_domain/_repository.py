"""The repository the program's application uses: eventsourcing's, loading faster.

eventsourcing's default projector, `project_aggregate`, asserts
``isinstance(event, CanMutateProtocol)`` for every event it applies. That is a
runtime-checkable `Protocol`, and on Python 3.11 each such check inspects the protocol's
members: about 34 us an event, measured, against a few microseconds for the mutation
itself. Every event this program stores is an eventsourcing aggregate event with a
``mutate`` method, so the check proves nothing here; `ProgramRepository` applies the
events without it, whoever asks for the default projector (a command's load, a
fast-forward of a cached aggregate, a snapshot being taken).

eventsourcing also loads an aggregate with two queries, its latest snapshot and then
the events after it: two round trips to a database server. When the events' recorder
can answer both at once (``select_snapshot_and_events(snapshot_recorder, id, lte=)``,
as the audit-chained recorders of ``adapters`` can), one query does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    ProjectorFunction,
    Repository,
    project_aggregate,
)

from rotation_domain._event_store import prefetch_keys

__all__ = ["ProgramRepository", "project_events"]


def project_events(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """Apply each event's ``mutate`` in turn, as `project_aggregate` does, without its check."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class ProgramRepository(Repository[UUID]):
    """eventsourcing's `Repository`, with `project_events` in place of `project_aggregate`."""

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        """The aggregate's current state (or ``version``'s), as `Repository.get` gives it."""
        if projector_func is project_aggregate:
            projector_func = project_events
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )

    def _reconstruct_aggregate(
        self,
        aggregate_id: UUID,
        version: int | None,
        projector_func: ProjectorFunction[Any, Any],
    ) -> Any:
        """Rebuild the aggregate from its latest snapshot and later events (one query if can)."""
        found = self._snapshot_and_events(aggregate_id, version)
        if found is None:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        snapshot, stored = found
        mapper = self.event_store.mapper
        prefetch_keys(mapper, stored if snapshot is None else [snapshot, *stored])
        events = map(mapper.to_domain_event, stored)
        store = self.snapshot_store
        snapshots = (
            [] if snapshot is None or store is None else [store.mapper.to_domain_event(snapshot)]
        )
        aggregate = projector_func(None, itertools.chain(snapshots, events))
        if aggregate is None:
            msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
            raise AggregateNotFoundError(msg)
        return aggregate

    def _snapshot_and_events(self, aggregate_id: UUID, version: int | None) -> Any:
        """(snapshot or None, stored events after it) in one query, or None if not possible."""
        if self.snapshot_store is None:
            return None
        select = getattr(self.event_store.recorder, "select_snapshot_and_events", None)
        if select is None:
            return None
        return select(self.snapshot_store.recorder, aggregate_id, lte=version)
