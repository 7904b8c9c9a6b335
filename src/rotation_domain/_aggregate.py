"""The base every aggregate of the program shares: events that record who did it."""

from __future__ import annotations

import functools
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

__all__ = ["ProgramAggregate", "stable_id"]

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:rotation-domain")


@functools.lru_cache(maxsize=1 << 16)
def stable_id(kind: str, key: str) -> UUID:
    """The id of an aggregate named by a business key (a department or employee code).

    The same key always gives the same id, so a directory import never creates two
    aggregates for one person. Recent answers are kept (the same people and
    departments come up command after command, and event after event in a replay).
    """
    return uuid5(_NAMESPACE, f"{kind}:{key}")


class ProgramAggregate(Aggregate):
    """Base of the program's aggregates.

    Every event records the ``actor`` who caused it; eventsourcing records the
    ``timestamp``. Events that concern a business date carry it as ``on`` or as
    explicit ``start``/``end`` fields.
    """

    KIND: ClassVar[str] = ""

    class Event(Aggregate.Event):
        """Base of every event of the program: it records who did it."""

        actor: str

    def _trigger(self, event_class: type[Aggregate.Event], **kwargs: Any) -> None:
        """Record an event of this aggregate (typed wrapper of ``trigger_event``)."""
        self.trigger_event(event_class, **kwargs)
