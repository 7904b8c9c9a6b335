"""The consumer store of the ``memory:`` event store: positions, view rows, deliveries.

Everything lives in this process and is guarded by one lock, so runners on several
threads may share a store. Documents are kept as JSON text, like the SQL stores keep
them: a document that is not JSON is refused, and the caller can never change a
stored document through a dict it put or got.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from adapters.consumer_stores import (
    CommitsViews,
    DeliveryRow,
    Doc,
    decode_doc,
    delivery_from_row,
    delivery_row,
    encode_changes,
)
from rotation_domain.consumers import PositionConflict, ViewCommit

if TYPE_CHECKING:
    from rotation_domain.consumers import Delivery, RowsReader

__all__ = ["MemoryConsumerStore"]


class MemoryConsumerStore(CommitsViews):
    """A `rotation_domain.consumers.ConsumerStore` held in memory; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._positions: dict[str, tuple[int, int | None]] = {}
        self._rows: dict[str, dict[str, str]] = {}
        self._deliveries: dict[tuple[str, int], DeliveryRow] = {}

    def position(self, consumer: str) -> int:
        """The position of the last event the consumer finished (0 before any)."""
        with self._lock:
            return self._positions.get(consumer, (0, None))[0]

    def view_version(self, consumer: str) -> int | None:
        """The view version the consumer's rows were built with, if any."""
        with self._lock:
            return self._positions.get(consumer, (0, None))[1]

    def reader(self, view: str) -> RowsReader:
        """Read access to a view's committed rows (it sees later commits too)."""
        return _MemoryRows(self, view)

    def commit_views(self, commits: Sequence[ViewCommit]) -> None:
        """Do several view commits at once: all of them or none.

        Raises:
            PositionConflict: A position is not its commit's ``expected``; nothing is written.
            TypeError: A document is not JSON; nothing is written.
        """
        encoded = [(commit, *encode_changes(commit.changes)) for commit in commits]
        with self._lock:
            for commit in commits:
                self._check(commit.consumer, commit.expected)
            for commit, upserts, deletes in encoded:
                for view, key, text in upserts:
                    self._rows.setdefault(view, {})[key] = text
                for view, key in deletes:
                    self._rows.get(view, {}).pop(key, None)
                self._positions[commit.consumer] = (commit.position, commit.version)

    def reset_view(self, consumer: str, views: Sequence[str]) -> None:
        """Drop the views' rows and the consumer's position and failures."""
        with self._lock:
            self._reset(consumer, views)

    def reset_views(self, consumers: Sequence[str]) -> None:
        """Reset each consumer and its view of the same name, at once."""
        with self._lock:
            for consumer in consumers:
                self._reset(consumer, [consumer])

    def bulk_writes(self) -> AbstractContextManager[None]:
        """Nothing to tune in memory: a block that changes nothing."""
        return nullcontext()

    def _reset(self, consumer: str, views: Sequence[str]) -> None:
        for view in views:
            self._rows.pop(view, None)
        self._positions.pop(consumer, None)
        for key in [key for key in self._deliveries if key[0] == consumer]:
            del self._deliveries[key]

    def advance(self, consumer: str, *, expected: int, position: int) -> None:
        """Move an integration's position from ``expected`` to ``position``.

        Raises:
            PositionConflict: The position is not ``expected``.
        """
        with self._lock:
            self._check(consumer, expected)
            version = self._positions.get(consumer, (0, None))[1]
            self._positions[consumer] = (position, version)

    def record_failure(self, delivery: Delivery) -> None:
        """Remember a failing or parked delivery, replacing the event's earlier record."""
        with self._lock:
            self._deliveries[(delivery.consumer, delivery.position)] = delivery_row(delivery)

    def failures(self, consumer: str) -> list[Delivery]:
        """The consumer's failing and parked events, by position."""
        with self._lock:
            rows = [row for key, row in self._deliveries.items() if key[0] == consumer]
        return [delivery_from_row(row) for row in sorted(rows, key=lambda row: row[1])]

    def clear_failure(self, consumer: str, position: int) -> None:
        """Forget the failure record of one event, if any."""
        with self._lock:
            self._deliveries.pop((consumer, position), None)

    def positions(self) -> Mapping[str, int]:
        """Every consumer's position."""
        with self._lock:
            return {consumer: entry[0] for consumer, entry in self._positions.items()}

    def close(self) -> None:
        """Nothing to release; the store stays usable."""

    def _check(self, consumer: str, expected: int) -> None:
        stored = self._positions.get(consumer, (0, None))[0]
        if stored != expected:
            msg = f"consumer {consumer!r} is at position {stored}, not {expected}"
            raise PositionConflict(msg)

    def _get(self, view: str, key: str) -> str | None:
        with self._lock:
            return self._rows.get(view, {}).get(key)

    def _scan(self, view: str, prefix: str) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._rows.get(view, {})
            return sorted((k, text) for k, text in rows.items() if k.startswith(prefix))


class _MemoryRows:
    """A view's committed rows in a `MemoryConsumerStore`."""

    def __init__(self, store: MemoryConsumerStore, view: str) -> None:
        self._store = store
        self._view = view

    def get(self, key: str) -> Doc | None:
        """The document stored under ``key``, or None."""
        text = self._store._get(self._view, key)
        return None if text is None else decode_doc(text)

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """Every (key, document) whose key starts with ``prefix``, ordered by key.

        The rows are read when ``scan`` is called: later commits do not change them.
        """
        rows = self._store._scan(self._view, prefix)
        return ((key, decode_doc(text)) for key, text in rows)
