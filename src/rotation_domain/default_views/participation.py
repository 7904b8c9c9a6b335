"""The participation view (R3): where each IT employee stands in a review cycle.

An employee is listed for a cycle when they worked in an IT department on at least one
day of the cycle and had not left before it began (someone who leaves or moves out of IT
during the cycle stays listed). A rotation counts toward the cycle that contains its
start date, so rescheduling can move it to another cycle.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from types import MappingProxyType

import attrs

from rotation_domain.consumers import Doc, Envelope, Rows, RowsReader, id_text
from rotation_domain.default_views._base import (
    DatedDocs,
    HandlerView,
    editable,
    iso,
    key,
    parse_day,
    topic,
)
from rotation_domain.personal_data import FORGOTTEN

__all__ = ["ParticipationRow", "ParticipationStatus", "ParticipationView"]

_ROTATIONS = DatedDocs("rotation")
_REACHED = {
    "RotationStarted": "started",
    "RotationCompleted": "completed",
    "RotationCancelled": "cancelled",
}


class ParticipationStatus(enum.StrEnum):
    """Where an IT employee stands in a cycle (a `str`, so it compares with plain text)."""

    EXEMPTED = "exempted"
    MET = "met"
    MISSED = "missed"
    IN_PROGRESS = "in-progress"
    PLANNED = "planned"
    NONE_PLANNED = "none-planned"


@attrs.frozen
class ParticipationRow:
    """One IT employee's participation objective in one review cycle.

    Attributes:
        employee: The employee's code.
        name: The employee's name.
        department: The last IT department they worked in during the cycle.
        cycle: The review cycle's name.
        status: ``exempted`` (an exemption was granted), ``met`` (a rotation that started
            in the cycle is completed with an improvement that was not withdrawn),
            ``missed`` (the cycle is closed and the objective was neither met nor exempted),
            ``in-progress``, ``planned``, or ``none-planned``, in that order of precedence.
        rotation_id: The employee's most advanced rotation counted toward the cycle
            (completed with its payback, then in progress, then planned; the earliest
            first), or None.
    """

    employee: str
    name: str
    department: str
    cycle: str
    status: ParticipationStatus
    rotation_id: str | None


# Handlers: each merges one event into the documents it concerns.


def _department(envelope: Envelope, rows: Rows) -> None:
    event = envelope.event
    rows.put(key("department", event.code), {"code": event.code, "is_it": bool(event.is_it)})


def _employee(envelope: Envelope, rows: Rows, change: Callable[[Doc], None]) -> None:
    row_key = key("employee", envelope.originator_key)
    doc = editable(rows, row_key)
    change(doc)
    rows.put(row_key, doc)


def _registered(envelope: Envelope, rows: Rows) -> None:
    event = envelope.event
    _employee(
        envelope,
        rows,
        lambda doc: doc.update(code=event.code, name=event.name, department=event.department),
    )


def _transferred(envelope: Envelope, rows: Rows) -> None:
    event = envelope.event
    version = envelope.originator_version
    move = [version, iso(event.on), event.from_department, event.to_department]

    def change(doc: Doc) -> None:
        others = [m for m in doc.get("transfers", []) if m[0] != version]
        doc["transfers"] = sorted([*others, move])

    _employee(envelope, rows, change)


def _departed(envelope: Envelope, rows: Rows) -> None:
    _employee(envelope, rows, lambda doc: doc.update(departed_on=iso(envelope.event.on)))


def _forgotten(envelope: Envelope, rows: Rows) -> None:
    """The person was forgotten: their name and exemption reasons are no longer kept."""
    _employee(envelope, rows, lambda doc: doc.update(name=FORGOTTEN))
    code = (rows.get(key("employee", envelope.originator_key)) or {}).get("code")
    if code is not None:
        mine = [k for k, _ in rows.scan("exemption/") if k.rsplit("/", 1)[-1] == key(code)]
        for row_key in mine:
            rows.put(row_key, {"reason": FORGOTTEN})


def _cycle(envelope: Envelope, rows: Rows) -> None:
    event = envelope.event
    row_key = key("cycle", event.name)
    doc = editable(rows, row_key)
    if envelope.name == "ReviewCycleOpened":
        doc.update(name=event.name, start=iso(event.start), end=iso(event.end))
    else:
        doc.update(name=event.name, closed_on=iso(event.on))
    rows.put(row_key, doc)


def _exempted(envelope: Envelope, rows: Rows) -> None:
    event = envelope.event
    rows.put(key("exemption", event.cycle, event.employee), {"reason": event.reason})


def _rotation(envelope: Envelope, rows: Rows) -> None:
    """Every Rotation event this view reads: the window and how far the rotation got."""
    ident, event = envelope.originator_key, envelope.event
    doc = _ROTATIONS.get(rows, ident) or {"id": ident}
    name = envelope.name
    if name in ("RotationPlanned", "RotationRescheduled"):
        if envelope.originator_version >= doc.get("window_version", 0):
            doc.update(start=iso(event.start), end=iso(event.end))
            doc["window_version"] = envelope.originator_version
        if name == "RotationPlanned":
            doc["participant"] = event.participant
    else:
        doc[_REACHED[name]] = True
    _ROTATIONS.put(rows, ident, doc.get("start"), doc)


def _improvement(envelope: Envelope, rows: Rows) -> None:
    """A proposal or a withdrawal: whether the improvement still counts as payback."""
    ident = envelope.originator_key
    row_key = key("improvement", ident)
    doc = editable(rows, row_key)
    if envelope.name == "ImprovementProposed":
        doc["rotation"] = id_text(envelope.event.rotation_id)
    else:
        doc["withdrawn"] = True
    rows.put(row_key, doc)
    if "rotation" in doc:
        rotation = _ROTATIONS.get(rows, doc["rotation"]) or {"id": doc["rotation"]}
        rotation.setdefault("improvements", {})[ident] = not doc.get("withdrawn", False)
        _ROTATIONS.put(rows, doc["rotation"], rotation.get("start"), rotation)


_HANDLERS = {
    topic("DepartmentRegistered"): _department,
    topic("EmployeeRegistered"): _registered,
    topic("EmployeeTransferred"): _transferred,
    topic("EmployeeDeparted"): _departed,
    topic("EmployeeForgotten"): _forgotten,
    topic("ReviewCycleOpened"): _cycle,
    topic("ReviewCycleClosed"): _cycle,
    topic("ExemptionGranted"): _exempted,
    topic("RotationPlanned"): _rotation,
    topic("RotationRescheduled"): _rotation,
    topic("RotationStarted"): _rotation,
    topic("RotationCompleted"): _rotation,
    topic("RotationCancelled"): _rotation,
    topic("ImprovementProposed"): _improvement,
    topic("ImprovementWithdrawn"): _improvement,
}


# Queries.


def _it_department_during(employee: Doc, it: set[str], first: date, last: date) -> str | None:
    """The last IT department the employee worked in between the two days, if any."""
    departed = parse_day(employee.get("departed_on"))
    if departed is not None:
        last = min(last, departed)
    if last < first:
        return None
    transfers = employee.get("transfers", [])
    home = employee.get("department") or (transfers[0][2] if transfers else None)
    stints: list[tuple[date | None, str | None]] = [(None, home)]
    stints += [(parse_day(on), to) for _, on, _, to in transfers]
    found = None
    for (since, department), (until, _) in zip(stints, [*stints[1:], (None, None)], strict=True):
        before_end = since is None or since <= last
        after_start = until is None or until > first  # they moved on day `until`
        if department in it and before_end and after_start:
            found = department
    return found


def _rank(rotation: Doc) -> int:
    """0 met, 1 in progress, 2 planned, 3 completed without a live payback."""
    if rotation.get("completed"):
        return 0 if any(rotation.get("improvements", {}).values()) else 3
    return 1 if rotation.get("started") else 2


def _status(exempted: bool, closed: bool, best: Doc | None) -> ParticipationStatus:
    rank = _rank(best) if best is not None else None
    if exempted:
        return ParticipationStatus.EXEMPTED
    if rank == 0:
        return ParticipationStatus.MET
    if closed:
        return ParticipationStatus.MISSED
    if rank == 1:
        return ParticipationStatus.IN_PROGRESS
    if rank == 2:
        return ParticipationStatus.PLANNED
    return ParticipationStatus.NONE_PLANNED


class ParticipationView(HandlerView):
    """R3: one row per IT employee and review cycle, with the objective's status."""

    name = "participation"
    version = 2  # 2: forgets names and exemption reasons (EmployeeForgotten)
    personal_fields = frozenset({"name", "reason"})  # the employee's name, the exemption's
    handlers = MappingProxyType(_HANDLERS)
    topics = frozenset(_HANDLERS)

    def query(self, reader: RowsReader, cycle: str) -> tuple[ParticipationRow, ...]:
        """Every IT employee's participation in ``cycle``, by employee code.

        Args:
            reader: The view's rows.
            cycle: The review cycle's name.

        Returns:
            One row per IT employee, or an empty tuple for an unknown cycle.
        """
        found = reader.get(key("cycle", cycle))
        first = parse_day(found.get("start")) if found else None
        last = parse_day(found.get("end")) if found else None
        if found is None or first is None or last is None:
            return ()
        it = {doc["code"] for _, doc in reader.scan("department/") if doc.get("is_it")}
        exempted = {k.rsplit("/", 1)[-1] for k, _ in reader.scan(key("exemption", cycle) + "/")}
        counted: dict[str, list[Doc]] = defaultdict(list)
        for rotation in _ROTATIONS.between(reader, first, last):
            start = parse_day(rotation.get("start"))
            if start is not None and first <= start <= last and not rotation.get("cancelled"):
                counted[rotation.get("participant", "")].append(rotation)
        rows = []
        for _, employee in reader.scan("employee/"):
            code = employee.get("code")
            department = _it_department_during(employee, it, first, last)
            if code is None or department is None:
                continue
            mine = sorted(counted[code], key=lambda r: (_rank(r), r["start"], r["id"]))
            best = mine[0] if mine else None
            status = _status(key(code) in exempted, "closed_on" in found, best)
            rotation_id = best["id"] if best is not None else None
            rows.append(
                ParticipationRow(
                    code, employee.get("name", ""), department, cycle, status, rotation_id
                )
            )
        return tuple(sorted(rows, key=lambda row: row.employee))
