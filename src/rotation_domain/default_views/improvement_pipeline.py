"""The improvement pipeline view (R8): every payback proposed, and how each host decides.

One document per improvement. Dates are business dates: an event's ``on`` when the
command was given one, else the day the event was recorded.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date
from types import MappingProxyType

import attrs

from rotation_domain.consumers import Doc, Envelope, Rows, RowsReader, id_text
from rotation_domain.default_views._base import (
    HandlerView,
    editable,
    event_day,
    key,
    parse_day,
    topic,
)

__all__ = [
    "DepartmentPipelineRow",
    "ImprovementPipelineView",
    "ImprovementRow",
    "PipelineReport",
]

_OUTCOMES = {
    "ImprovementAdopted": "adopted",
    "ImprovementRejected": "rejected",
    "ImprovementWithdrawn": "withdrawn",
}


@attrs.frozen
class ImprovementRow:
    """One improvement and where it stands.

    Attributes:
        improvement_id: The improvement's id.
        rotation_id: The rotation whose payback it is.
        participant: The participant who proposed it.
        host_department: The department that decides on it.
        title: Its short title.
        status: ``proposed`` (awaiting a decision), ``adopted``, ``rejected`` or
            ``withdrawn``.
        proposed_on: The day it was proposed.
        decided_on: The day it was adopted or rejected; None otherwise.
        days_to_adoption: Days from the proposal to the adoption; None unless adopted.
    """

    improvement_id: str
    rotation_id: str
    participant: str
    host_department: str
    title: str
    status: str
    proposed_on: date | None
    decided_on: date | None
    days_to_adoption: int | None


@attrs.frozen
class DepartmentPipelineRow:
    """How one host department handles the improvements proposed to it.

    Attributes:
        host_department: The department's code.
        proposed: Every improvement proposed to it, whatever became of it.
        pending: Those still awaiting a decision.
        adopted: Those it adopted.
        rejected: Those it rejected.
        withdrawn: Those the participant withdrew.
        adoption_rate: Adopted over decided (adopted or rejected); None when none was
            decided.
        median_days_to_adoption: The median of the adopted ones' days to adoption;
            None when none was adopted.
    """

    host_department: str
    proposed: int
    pending: int
    adopted: int
    rejected: int
    withdrawn: int
    adoption_rate: float | None
    median_days_to_adoption: float | None


@attrs.frozen
class PipelineReport:
    """The whole pipeline.

    Attributes:
        improvements: Every improvement, in the order they were proposed.
        departments: One row per host department that was proposed something, by code.
    """

    improvements: tuple[ImprovementRow, ...]
    departments: tuple[DepartmentPipelineRow, ...]


def _handle(envelope: Envelope, rows: Rows) -> None:
    """Every Improvement event: the proposal's facts, or the outcome and its day."""
    event, name = envelope.event, envelope.name
    row_key = key("improvement", envelope.originator_key)
    doc = editable(rows, row_key)
    if name == "ImprovementProposed":
        doc.update(
            id=envelope.originator_key,
            rotation_id=id_text(event.rotation_id),
            participant=event.participant,
            host_department=event.host_department,
            title=event.title,
            proposed_on=event_day(envelope).isoformat(),
            position=envelope.position,
        )
    else:
        doc["outcome"] = _OUTCOMES[name]
        if name != "ImprovementWithdrawn":
            doc["decided_on"] = event_day(envelope).isoformat()
    rows.put(row_key, doc)


_HANDLERS = {topic(name): _handle for name in ("ImprovementProposed", *_OUTCOMES)}


def _row(doc: Doc) -> ImprovementRow:
    proposed_on, decided_on = parse_day(doc.get("proposed_on")), parse_day(doc.get("decided_on"))
    status = doc.get("outcome", "proposed")
    days = None
    if status == "adopted" and proposed_on is not None and decided_on is not None:
        days = (decided_on - proposed_on).days
    return ImprovementRow(
        improvement_id=doc.get("id", ""),
        rotation_id=doc.get("rotation_id", ""),
        participant=doc.get("participant", ""),
        host_department=doc.get("host_department", ""),
        title=doc.get("title", ""),
        status=status,
        proposed_on=proposed_on,
        decided_on=decided_on,
        days_to_adoption=days,
    )


def _department(code: str, improvements: list[ImprovementRow]) -> DepartmentPipelineRow:
    def count(status: str) -> int:
        return sum(1 for row in improvements if row.status == status)

    adopted, rejected = count("adopted"), count("rejected")
    days = [row.days_to_adoption for row in improvements if row.days_to_adoption is not None]
    return DepartmentPipelineRow(
        host_department=code,
        proposed=len(improvements),
        pending=count("proposed"),
        adopted=adopted,
        rejected=rejected,
        withdrawn=count("withdrawn"),
        adoption_rate=adopted / (adopted + rejected) if adopted + rejected else None,
        median_days_to_adoption=float(statistics.median(days)) if days else None,
    )


class ImprovementPipelineView(HandlerView):
    """R8: per improvement and per host department: status, adoption rate, days to adopt."""

    name = "improvement_pipeline"
    version = 1
    handlers = MappingProxyType(_HANDLERS)
    topics = frozenset(_HANDLERS)

    def query(self, reader: RowsReader) -> PipelineReport:
        """Every improvement, and every host department's figures.

        Args:
            reader: The view's rows.

        Returns:
            The report.
        """
        docs = sorted(
            (doc for _, doc in reader.scan("improvement/")),
            key=lambda doc: (doc.get("proposed_on") or "", doc.get("position", 0)),
        )
        improvements = tuple(_row(doc) for doc in docs)
        by_host: dict[str, list[ImprovementRow]] = defaultdict(list)
        for row in improvements:
            by_host[row.host_department].append(row)
        departments = tuple(_department(code, by_host[code]) for code in sorted(by_host))
        return PipelineReport(improvements, departments)
