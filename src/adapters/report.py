"""``rotation report --html FILE``: the program on one self-contained HTML page.

`build_report` reads the read models (and the rotations' current states) into a
`ReportData`; `render_html` (from `adapters.report_html`) turns it into a page with
inline CSS and SVG charts drawn here in Python: no network, no CDN, one file.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import attrs

from adapters.report_html import render_html
from rotation_domain import Employee, InvalidInput, Policy, Rotation, RotationProgram, UnknownId
from rotation_domain.default_views.department_bridges import BridgeRow
from rotation_domain.default_views.improvement_pipeline import PipelineReport
from rotation_domain.default_views.mentor_engagement import MentorRow
from rotation_domain.program import PROGRAM_ID, Program

__all__ = [
    "CycleParticipation",
    "DayCount",
    "ReportData",
    "RotationBar",
    "build_report",
    "render_html",
]


@attrs.frozen
class RotationBar:
    """One rotation on the timeline.

    Attributes:
        rotation_id: Its id.
        participant: The participant's code.
        participant_name: Their name.
        host: The host department's code.
        start: The first day.
        end: The last day.
        status: planned, in-progress or completed.
        mentor: The current mentor's code, if any.
    """

    rotation_id: str
    participant: str
    participant_name: str
    host: str
    start: date
    end: date
    status: str
    mentor: str | None


@attrs.frozen
class DayCount:
    """IT staff away on one day, beside the program-wide cap."""

    day: date
    away: int
    cap: int


@attrs.frozen
class CycleParticipation:
    """How many IT employees are in each participation status, in one review cycle."""

    cycle: str
    start: date
    end: date
    closed: bool
    counts: dict[str, int]


@attrs.frozen
class ReportData:
    """Everything the report shows, read from one program at one moment.

    Attributes:
        title: The page's title.
        first: The timeline's first day.
        last: The timeline's last day.
        policy: The policy in force.
        events: How many events the log holds.
        departments: Business department names by code.
        people: Names of the participants and mentors, by code.
        homes: The departments of the participants and mentors, by code.
        rotations: The rotations booked in the span, by start.
        days: The count of IT staff away on each day of the span.
        cycles: Participation per review cycle.
        pipeline: The improvement pipeline view's report.
        mentors: The mentor engagement view's rows.
        bridges: The department bridges view's rows.
    """

    title: str
    first: date
    last: date
    policy: Policy
    events: int
    departments: dict[str, str]
    people: dict[str, str]
    homes: dict[str, str]
    rotations: tuple[RotationBar, ...]
    days: tuple[DayCount, ...]
    cycles: tuple[CycleParticipation, ...]
    pipeline: PipelineReport
    mentors: tuple[MentorRow, ...]
    bridges: tuple[BridgeRow, ...]


def _day(name: str, value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO date like 2027-01-31, got {value!r}") from None


def _person(program: RotationProgram, code: str) -> tuple[str, str]:
    try:
        found = program.get(Employee.id_for(code))
    except UnknownId:
        return code, "?"
    return (found.name, found.department) if isinstance(found, Employee) else (code, "?")


def build_report(
    program: RotationProgram,
    *,
    first: str | date | None = None,
    last: str | date | None = None,
    title: str = "IT rotation program",
) -> ReportData:
    """Read the program's views into the data the report shows.

    Args:
        program: An open program.
        first: The timeline's first day (default: the first review cycle's start, else
            90 days ago).
        last: The timeline's last day (default: the last review cycle's end, else 90
            days ahead).
        title: The page's title.

    Raises:
        InvalidInput: a date is not ISO, or the last day is before the first.
    """
    try:
        recorded = program.get(PROGRAM_ID)
    except UnknownId:
        recorded = None
    cycles = list(recorded.cycles.values()) if isinstance(recorded, Program) else []
    today = date.today()
    start = _day("--from", first) or (
        min(c.period.start for c in cycles) if cycles else today - timedelta(days=90)
    )
    end = _day("--to", last) or (
        max(c.period.end for c in cycles) if cycles else today + timedelta(days=90)
    )
    if end < start:
        raise InvalidInput(f"the report's last day {end} is before its first day {start}")
    reports = program.views.capacity.range(start, end)
    booked: dict[str, None] = {}
    for report in reports:
        for away in report.away:
            booked.setdefault(away.rotation_id, None)
    people: dict[str, str] = {}
    homes: dict[str, str] = {}
    bars = []
    for rotation_id in booked:
        found = program.get(rotation_id)
        if not isinstance(found, Rotation):  # pragma: no cover - the view books rotations
            continue
        if found.participant not in people:
            people[found.participant], homes[found.participant] = _person(
                program, found.participant
            )
        bars.append(
            RotationBar(
                str(found.id),
                found.participant,
                people[found.participant],
                found.host_department,
                found.period.start,
                found.period.end,
                found.status.value,
                found.mentor,
            )
        )
    bars.sort(key=lambda b: (b.start, b.host, b.participant))
    mentors = program.views.mentor_engagement()
    for row in mentors:
        if row.mentor not in people:
            people[row.mentor], homes[row.mentor] = _person(program, row.mentor)
    participation = []
    for cycle in sorted(cycles, key=lambda c: c.period.start):
        counts = Counter(row.status.value for row in program.views.participation(cycle.name))
        participation.append(
            CycleParticipation(
                cycle.name, cycle.period.start, cycle.period.end, cycle.closed, dict(counts)
            )
        )
    bridges = program.views.department_bridges()
    return ReportData(
        title=title,
        first=start,
        last=end,
        policy=program.policy(),
        events=program.app.recorder.max_notification_id() or 0,
        departments={row.department: row.name for row in bridges},
        people=people,
        homes=homes,
        rotations=tuple(bars),
        days=tuple(DayCount(r.day, r.program.count, r.program.cap) for r in reports),
        cycles=tuple(participation),
        pipeline=program.views.improvement_pipeline(),
        mentors=tuple(mentors),
        bridges=tuple(bridges),
    )
