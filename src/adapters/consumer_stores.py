"""Consumer stores: choose one by the eventsourcing settings, and the helpers they share.

A consumer store (`rotation_domain.consumers.ConsumerStore`) keeps every consumer's
position, the views' rows and the integrations' failing deliveries in the same
database as the events. `consumer_store_for` opens the one that matches the settings
made by `adapters.store_urls.settings_for_url`:

* ``PERSISTENCE_MODULE=eventsourcing.popo``: `MemoryConsumerStore`.
* ``eventsourcing.sqlite`` (or ``adapters.sqlite_subscription``): `SQLiteConsumerStore`
  on ``SQLITE_DBNAME``.
* ``eventsourcing.postgres``: `PostgresConsumerStore` on ``POSTGRES_HOST``, ``_PORT``,
  ``_USER``, ``_PASSWORD``, ``_DBNAME`` and ``_SCHEMA``.

The SQL stores share the encoding defined here: a document is stored as JSON text
(orjson), a failure's ``next_attempt_at`` as ISO 8601 text, and a prefix scan is the
key range ``prefix <= key < prefix_end(prefix)``, compared by code point (SQLite's
BINARY collation, PostgreSQL's ``"C"``), so that ``%`` and ``_`` in keys are plain
characters and every store orders keys as Python orders strings.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from rotation_domain.consumers import Delivery, ViewCommit

if TYPE_CHECKING:
    from rotation_domain.consumers import ConsumerStore, ViewChanges

__all__ = [
    "CommitsViews",
    "Doc",
    "DeliveryRow",
    "consumer_store_for",
    "decode_doc",
    "delivery_from_row",
    "delivery_row",
    "encode_changes",
    "encode_doc",
    "prefix_end",
]

Doc = dict[str, Any]
DeliveryRow = tuple[str, int, int, str, str, str | None]
"""A delivery as stored: consumer, position, attempts, status, last_error, next_attempt_at."""

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)

_MEMORY_MODULES = frozenset({"eventsourcing.popo"})
_SQLITE_MODULES = frozenset({"eventsourcing.sqlite", "adapters.sqlite_subscription"})
_POSTGRES_MODULES = frozenset({"eventsourcing.postgres"})


class CommitsViews(abc.ABC):
    """`commit_view` as one `commit_views` of one commit: what every store does the same."""

    @abc.abstractmethod
    def commit_views(self, commits: Sequence[ViewCommit]) -> None:
        """Do several view commits in one transaction: all of them or none."""

    def commit_view(
        self, consumer: str, version: int, changes: ViewChanges, *, expected: int, position: int
    ) -> None:
        """Write row changes and move the position from ``expected`` to ``position``.

        Raises:
            PositionConflict: The position is not ``expected``; nothing is written.
            TypeError: A document is not JSON; nothing is written.
        """
        self.commit_views([ViewCommit(consumer, version, changes, expected, position)])


def consumer_store_for(settings: Mapping[str, str]) -> ConsumerStore:
    """Open the consumer store that lives in the same database as the events.

    Args:
        settings: eventsourcing settings, as made by
            `adapters.store_urls.settings_for_url`. Without ``PERSISTENCE_MODULE``
            the store is in memory, as eventsourcing's is.

    Returns:
        An open store; the caller closes it.

    Raises:
        ValueError: The persistence module has no consumer store, or the SQLite
            database is in memory (views need a file).
    """
    module = settings.get("PERSISTENCE_MODULE") or "eventsourcing.popo"
    if module in _MEMORY_MODULES:
        from adapters.consumer_store_memory import MemoryConsumerStore

        return MemoryConsumerStore()
    if module in _SQLITE_MODULES:
        from adapters.consumer_store_sqlite import SQLiteConsumerStore

        return SQLiteConsumerStore(settings.get("SQLITE_DBNAME", ""))
    if module in _POSTGRES_MODULES:
        from adapters.consumer_store_postgres import PostgresConsumerStore, postgres_conninfo

        return PostgresConsumerStore(
            postgres_conninfo(settings), settings.get("POSTGRES_SCHEMA") or None
        )
    msg = f"no consumer store for PERSISTENCE_MODULE={module!r}"
    raise ValueError(msg)


def encode_doc(doc: Doc) -> str:
    """The JSON text of a row's document.

    Raises:
        TypeError: ``doc`` is not a dict, or holds something JSON cannot (a set, an
            int beyond 64 bits, a non-string key).
    """
    if not isinstance(doc, dict):
        msg = f"a row's document is a dict, not {type(doc).__name__}"
        raise TypeError(msg)
    return orjson.dumps(doc).decode()


def decode_doc(text: str | bytes) -> Doc:
    """The document stored as JSON ``text``."""
    doc: Doc = orjson.loads(text)
    return doc


def encode_changes(
    changes: ViewChanges,
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Split row changes into upserts (view, key, JSON) and deletes (view, key).

    Every document is encoded here, before any transaction starts, so a document
    that is not JSON fails the commit before it writes anything.
    """
    upserts: list[tuple[str, str, str]] = []
    deletes: list[tuple[str, str]] = []
    for view, rows in changes.items():
        for key, doc in rows.items():
            if doc is None:
                deletes.append((view, key))
            else:
                upserts.append((view, key, encode_doc(doc)))
    return upserts, deletes


def prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``.

    Keys ``k`` with ``prefix <= k < prefix_end(prefix)`` are exactly those starting with
    ``prefix``. None means there is no upper bound (the empty prefix, or one made only
    of U+10FFFF).
    """
    stem = prefix
    while stem:
        code = ord(stem[-1]) + 1
        if code in _SURROGATES:  # never in a stored key: UTF-8 cannot encode them
            code = _SURROGATES.stop
        if code <= _MAX_CODE_POINT:
            return stem[:-1] + chr(code)
        stem = stem[:-1]
    return None


def delivery_row(delivery: Delivery) -> DeliveryRow:
    """The stored form of a failing or parked delivery."""
    return (
        delivery.consumer,
        delivery.position,
        delivery.attempts,
        delivery.status,
        delivery.last_error,
        None if delivery.next_attempt_at is None else delivery.next_attempt_at.isoformat(),
    )


def delivery_from_row(row: tuple[Any, ...]) -> Delivery:
    """The delivery stored as ``row`` (in `DeliveryRow` order)."""
    consumer, position, attempts, status, last_error, due = row
    return Delivery(
        consumer=consumer,
        position=int(position),
        attempts=int(attempts),
        status=status,
        last_error=last_error,
        next_attempt_at=None if due is None else datetime.fromisoformat(due),
    )
