"""The cattrs converter that turns domain values into JSON-ready data and back.

The converter is built on :func:`cattrs.preconf.orjson.make_converter`, so what it
unstructures is meant to be written by :func:`orjson.dumps`:

* ``datetime.datetime`` and ``datetime.date`` are left as they are and written by
  orjson as ISO 8601 strings (``2024-05-01T09:30:00+00:00``, ``2024-05-01``), which
  the structure hooks read back with ``fromisoformat``;
* ``uuid.UUID`` is left as it is and written by orjson as its canonical string, which
  is read back with ``UUID(...)``;
* ``enum.Enum`` members (``StrEnum``, ``IntEnum`` and plain enums with JSON values) are
  left as they are and written by orjson as their values, which are read back by value;
* mapping keys are turned into strings (UUID keys into their canonical string, string
  enum keys into their value) and read back into the annotated key type;
* tuples, lists, sets and frozensets become JSON arrays; attrs classes and
  dataclasses become JSON objects keyed by attribute name.

Leaving the leaf types to orjson keeps the hot path in C: a typical event's fields
need no Python call at all when they are unstructured.

The structure hooks for ``date``, ``datetime`` and ``UUID`` also accept values that
already have the target type, so an upcaster may write either the JSON form or the
Python value into a stored state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import cattrs
from cattrs.preconf.orjson import make_converter as make_orjson_converter

__all__ = ["TEXT_PARSERS", "make_converter", "uuid_from_text"]


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _structure_date(value: Any, _: Any) -> date:
    if type(value) is date:
        return value
    return date.fromisoformat(value)


@functools.lru_cache(maxsize=1 << 16)
def uuid_from_text(text: str) -> UUID:
    """The `UUID` written as ``text``, shared while it is in a bounded cache.

    UUIDs are immutable, so one object can stand for every occurrence: the ids of
    aggregates, rotations and people recur in event after event, and a cached one
    costs about a fifteenth of parsing the text again.
    """
    return UUID(text)


def _structure_uuid(value: Any, _: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    return uuid_from_text(value)


TEXT_PARSERS: dict[Any, Callable[[str], Any]] = {
    _structure_datetime: datetime.fromisoformat,
    _structure_date: date.fromisoformat,
    _structure_uuid: uuid_from_text,
}
"""Per structure hook of this module, what it does to a JSON string, called directly.

A decoder that finds one of these hooks for a field may call the parser on a string
value without the hook's own call (the mapper does, for every event it reads).
"""


def make_converter() -> cattrs.Converter:
    """Build a new converter for domain events, snapshots and value objects.

    Each call returns a fresh converter with its own hook caches; callers that care
    about speed should keep one and reuse it (cattrs generates and caches a
    specialised function per class on first use).

    Returns:
        A converter whose ``unstructure`` output can be passed to
        :func:`orjson.dumps`, and whose ``structure`` reads the result of
        :func:`orjson.loads` back into the annotated types.

    """
    converter = make_orjson_converter()
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(date, _structure_date)
    converter.register_structure_hook(UUID, _structure_uuid)
    return converter
