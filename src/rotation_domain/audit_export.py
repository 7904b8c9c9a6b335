"""Exports of the log as JSON Lines or CSV, in a documented, versioned format.

`EXPORT_FORMAT_VERSION` and `EXPORT_COLUMNS` name the format (docs/audit.md says what
each column holds). The writers stream: they hold nothing but the line being written.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol

import orjson

from rotation_domain.audit_entries import JSON_OPTIONS, TimelineEntry

if TYPE_CHECKING:
    from rotation_domain.audit_timeline import AuditFilter

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMAT_VERSION",
    "WRITERS",
    "TextSink",
    "write_csv",
    "write_jsonl",
]


class TextSink(Protocol):
    """Where an export writes: any object with a text ``write`` (a file, ``sys.stdout``)."""

    def write(self, text: str, /) -> object:
        """Write ``text``."""


EXPORT_FORMAT_VERSION: Final = 1
"""The version of the export format; it changes when a column changes meaning."""

EXPORT_COLUMNS: Final = (
    "position",
    "recorded_at",
    "business_date",
    "actor",
    "event_type",
    "topic",
    "aggregate_id",
    "aggregate_version",
    "summary",
    "data",
)
"""The columns of an exported event, in order (docs/audit.md says what each holds)."""


def write_jsonl(
    entries: Iterable[TimelineEntry],
    out: TextSink,
    *,
    criteria: AuditFilter | None = None,
    exported_at: datetime | None = None,
) -> int:
    """Write entries as JSON Lines: a header line, one line per event, a trailer line.

    Args:
        entries: The entries, streamed: nothing is held but the line being written.
        out: A text stream.
        criteria: The filter that selected them, named in the header.
        exported_at: The export's time (now by default).

    Returns:
        How many events were written.
    """
    header = {
        "record": "header",
        "format": "rotation-domain/audit-export",
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": (exported_at or datetime.now(UTC)).isoformat(),
        "filter": criteria.describe() if criteria else {},
        "columns": list(EXPORT_COLUMNS),
    }
    out.write(orjson.dumps(header).decode() + "\n")
    count = 0
    last = None
    dumps = orjson.dumps
    for entry in entries:
        record = entry.to_record()
        out.write(dumps({"record": "event", **record}, option=JSON_OPTIONS).decode() + "\n")
        count += 1
        last = entry.position
    trailer = {"record": "end", "events": count, "last_position": last}
    out.write(orjson.dumps(trailer).decode() + "\n")
    return count


def write_csv(entries: Iterable[TimelineEntry], out: TextSink) -> int:
    """Write entries as CSV: a header row, then one row per event.

    The first column, ``format_version``, holds `EXPORT_FORMAT_VERSION` on every row;
    the others are `EXPORT_COLUMNS`, with ``data`` as JSON text and an empty cell for
    a missing business date.

    Args:
        entries: The entries, streamed.
        out: A text stream opened with ``newline=""``.

    Returns:
        How many events were written.
    """
    writer = csv.writer(out)
    writer.writerow(("format_version", *EXPORT_COLUMNS))
    count = 0
    version = str(EXPORT_FORMAT_VERSION)
    for entry in entries:
        writer.writerow(
            (
                version,
                entry.position,
                entry.recorded_at.isoformat(),
                entry.business_date.isoformat() if entry.business_date else "",
                entry.actor,
                entry.event_type,
                entry.topic,
                str(entry.aggregate_id),
                entry.aggregate_version,
                entry.summary,
                orjson.dumps(entry.data, option=JSON_OPTIONS).decode(),
            )
        )
        count += 1
    return count


WRITERS: Final[Mapping[str, Callable[..., int]]] = MappingProxyType(
    {"jsonl": write_jsonl, "csv": write_csv}
)
