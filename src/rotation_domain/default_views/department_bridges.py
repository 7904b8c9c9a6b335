"""The department bridges view: what each host department got from the program.

One document per rotation and per improvement, and one summary row of counters per
department that always equals the sum of what its rotations and improvements
contribute (see `_base.revise`), so a query reads one row per department. The IT
employees a department hosted are rows of their own (``guest/<department>/<employee>``,
holding how many live rotations brought them there), so the summary row stays small
however many people the program moves; it counts them in ``people``.
"""

from __future__ import annotations

from types import MappingProxyType
from urllib.parse import unquote

import attrs

from rotation_domain.consumers import Doc, Envelope, Rows, RowsReader
from rotation_domain.default_views._base import (
    Contribution,
    HandlerView,
    counts_of,
    editable,
    key,
    revise,
    shift,
    topic,
)

__all__ = ["BridgeRow", "DepartmentBridgesView"]


@attrs.frozen
class BridgeRow:
    """What one non-IT department hosted and got back.

    Attributes:
        department: The department's code.
        name: Its display name.
        rotations_hosted: Rotations it hosts or hosted, not counting cancelled ones.
        rotations_completed: Of those, the completed ones.
        observations: Problems participants recorded while there (R7), in any rotation.
        improvements_proposed: Improvements proposed to it (R8), whatever became of them.
        improvements_adopted: Of those, the ones it adopted.
        it_employees_hosted: Distinct IT employees among the participants of the
            rotations it hosts or hosted (not counting cancelled ones).
    """

    department: str
    name: str
    rotations_hosted: int
    rotations_completed: int
    observations: int
    improvements_proposed: int
    improvements_adopted: int
    it_employees_hosted: int


def _rotation_contribution(rotation: Doc) -> Contribution:
    host = rotation.get("host")
    if host is None:
        return {}
    live = 0 if rotation.get("cancelled") else 1
    return {
        key("department", host): {
            "hosted": live,
            "completed": live if rotation.get("completed") else 0,
            "observations": rotation.get("observations", 0),
        }
    }


def _guest_of(rotation: Doc | None) -> tuple[str, str] | None:
    """The (host, participant) a live rotation brings together, or None."""
    if rotation is None or rotation.get("cancelled") or rotation.get("host") is None:
        return None
    return str(rotation["host"]), str(rotation.get("participant", ""))


def _move_guest(rows: Rows, old: tuple[str, str] | None, new: tuple[str, str] | None) -> None:
    """Move one rotation's guest from ``old`` to ``new``, keeping ``people`` right."""
    if old == new:
        return
    for pair, step in ((old, -1), (new, 1)):
        if pair is None:
            continue
        guest_key = key("guest", *pair)
        found = rows.get(guest_key)
        visits = (found or {}).get("rotations", 0) + step
        if visits > 0:
            rows.put(guest_key, {"rotations": visits})
        else:
            rows.delete(guest_key)
        if (visits == 1 and step == 1) or (visits == 0 and step == -1):
            shift(rows, {}, {key("department", pair[0]): {"people": step}})


def _improvement_contribution(improvement: Doc) -> Contribution:
    host = improvement.get("host")
    if host is None:
        return {}
    adopted = 1 if improvement.get("adopted") else 0
    return {key("department", host): {"proposed": 1, "adopted": adopted}}


def _registered(envelope: Envelope, rows: Rows) -> None:
    event = envelope.event
    row_key = key("department", event.code)
    doc = editable(rows, row_key)
    doc.update(code=event.code, name=event.name, is_it=bool(event.is_it))
    rows.put(row_key, doc)


_MOVES_GUEST = frozenset({"RotationPlanned", "RotationCancelled"})
"""The events that change what `_guest_of` reads of a rotation."""


def _rotation(envelope: Envelope, rows: Rows) -> None:
    event, name = envelope.event, envelope.name

    def change(doc: Doc) -> None:
        if name == "RotationPlanned":
            doc.update(host=event.host_department, participant=event.participant)
        elif name == "ObservationRecorded":
            doc["observations"] = doc.get("observations", 0) + 1
        else:
            doc["completed" if name == "RotationCompleted" else "cancelled"] = True

    row_key = key("rotation", envelope.originator_key)
    if name not in _MOVES_GUEST:  # the host, participant and cancellation stay as they were
        revise(rows, row_key, change, _rotation_contribution)
        return
    before = _guest_of(rows.get(row_key))
    after = _guest_of(revise(rows, row_key, change, _rotation_contribution))
    _move_guest(rows, before, after)


def _improvement(envelope: Envelope, rows: Rows) -> None:
    event, name = envelope.event, envelope.name

    def change(doc: Doc) -> None:
        if name == "ImprovementProposed":
            doc["host"] = event.host_department
        else:
            doc["adopted"] = True

    row_key = key("improvement", envelope.originator_key)
    revise(rows, row_key, change, _improvement_contribution)


_HANDLERS = {
    topic("DepartmentRegistered"): _registered,
    topic("RotationPlanned"): _rotation,
    topic("ObservationRecorded"): _rotation,
    topic("RotationCompleted"): _rotation,
    topic("RotationCancelled"): _rotation,
    topic("ImprovementProposed"): _improvement,
    topic("ImprovementAdopted"): _improvement,
}


def _row(row_key: str, doc: Doc) -> BridgeRow:
    counts = counts_of(doc)
    code = doc.get("code") or unquote(row_key.split("/", 1)[1])
    return BridgeRow(
        department=code,
        name=doc.get("name") or code,
        rotations_hosted=counts.get("hosted", 0),
        rotations_completed=counts.get("completed", 0),
        observations=counts.get("observations", 0),
        improvements_proposed=counts.get("proposed", 0),
        improvements_adopted=counts.get("adopted", 0),
        it_employees_hosted=counts.get("people", 0),
    )


class DepartmentBridgesView(HandlerView):
    """Per non-IT department: rotations hosted, observations, improvements, people."""

    name = "department_bridges"
    version = 2
    handlers = MappingProxyType(_HANDLERS)
    topics = frozenset(_HANDLERS)

    def query(self, reader: RowsReader) -> tuple[BridgeRow, ...]:
        """Every non-IT department, including those that hosted nobody yet, by code.

        Args:
            reader: The view's rows.

        Returns:
            One row per department.
        """
        rows = (
            _row(row_key, doc)
            for row_key, doc in reader.scan("department/")
            if not doc.get("is_it")
        )
        return tuple(sorted(rows, key=lambda row: row.department))
