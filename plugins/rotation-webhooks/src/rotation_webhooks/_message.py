"""One event as a CloudEvents 1.0 structured JSON message.

The body is written by orjson with sorted keys, so the same event to the same endpoint
gives the same bytes at every attempt.
"""

from __future__ import annotations

from typing import Any, Final

import cattrs
import orjson
from cattrs.preconf.orjson import make_converter
from rotation_domain.consumers import Envelope

__all__ = ["CONTENT_TYPE", "DATA_CONTENT_TYPE", "cloud_event", "event_data", "message_body"]

CONTENT_TYPE: Final = "application/cloudevents+json"
"""The HTTP ``Content-Type`` of a structured CloudEvents JSON message."""

DATA_CONTENT_TYPE: Final = "application/json"
"""The CloudEvents ``datacontenttype`` of every message: ``data`` is a JSON object."""

_IN_ATTRIBUTES: Final = frozenset({"originator_id", "originator_version"})
"""Event fields carried by the message's attributes (``subject``, ``aggregateversion``)."""

_OPTIONS: Final = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z


def _converter() -> cattrs.Converter:
    """The converter of the library's stored form: dates, UUIDs and enums left to orjson."""
    return make_converter()


_CONVERTER: Final = _converter()


def event_data(envelope: Envelope) -> dict[str, Any]:
    """The event's fields as JSON values: the message's ``data``.

    Every field of the event (those docs/events.md lists for it, and ``actor``,
    ``timestamp``, and ``originator_topic`` on a created event) except the aggregate's
    id and version, which are the message's ``subject`` and ``aggregateversion``.
    Values take the forms of the stored state: dates and UUIDs as text, enums as their
    values, value objects (``Policy``, ``Booking``) as objects.
    """
    fields: dict[str, Any] = dict(vars(envelope.event))
    return {
        name: _CONVERTER.unstructure(value)
        for name, value in fields.items()
        if name not in _IN_ATTRIBUTES
    }


def cloud_event(envelope: Envelope, event_id: str, source: str) -> dict[str, Any]:
    """The CloudEvent for one event, as a dict of attributes and ``data``.

    Args:
        envelope: The recorded event.
        event_id: The message's ``id``, the same at every attempt (the idempotency key).
        source: The CloudEvents ``source`` (``ROTATION_WEBHOOKS_SOURCE``).
    """
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": envelope.topic.replace(":", "."),
        "subject": str(envelope.originator_id),
        "time": envelope.timestamp,
        "datacontenttype": DATA_CONTENT_TYPE,
        "position": envelope.position,
        "aggregateversion": envelope.originator_version,
        "eventversion": int(getattr(envelope.event, "class_version", 1)),
        "data": event_data(envelope),
    }


def message_body(envelope: Envelope, event_id: str, source: str) -> bytes:
    """The HTTP body: the CloudEvent as sorted-key JSON, times in UTC with ``Z``."""
    return orjson.dumps(cloud_event(envelope, event_id, source), option=_OPTIONS)
