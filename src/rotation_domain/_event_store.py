"""The event store the program's application uses: eventsourcing's, batch-aware."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, StoredEvent

__all__ = ["PrefetchingEventStore", "prefetch_keys"]


def prefetch_keys(mapper: Any, stored: Sequence[StoredEvent]) -> None:
    """Show the mapper a batch of stored states before it decodes them one by one.

    A mapper with ``prefetch_keys`` then reads the keys of every person whose data
    they seal in one query, instead of one query per person.
    """
    prefetch = getattr(mapper, "prefetch_keys", None)
    if prefetch is not None and len(stored) > 1:
        prefetch(stored)


class PrefetchingEventStore(EventStore[UUID]):
    """eventsourcing's `EventStore`, showing the mapper a batch before decoding it.

    The events of one aggregate (or its snapshot) are read in one query; when the mapper
    can make use of seeing them all first (``prefetch_keys``: the keys of every person
    whose data they seal, in one query instead of one per person), it is given them.
    """

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        """The aggregate's events (or snapshots), decoded, as `EventStore.get` gives them."""
        stored = self.recorder.select_events(
            originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit
        )
        prefetch_keys(self.mapper, stored)
        return map(self.mapper.to_domain_event, stored)
