"""Timeline entries: one recorded event as an auditor reads it (`TimelineEntry`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import attrs
import orjson

from rotation_domain.audit_summaries import summarise

__all__ = ["JSON_OPTIONS", "TimelineEntry", "entry_of"]

JSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS
"""The orjson options an event's data is written with (keys that are not text allowed)."""

_COMMON_FIELDS: Final = frozenset(
    {"originator_id", "originator_version", "timestamp", "actor", "originator_topic"}
)


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
    data = orjson.loads(orjson.dumps(fields, default=_json_default, option=JSON_OPTIONS))
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
