"""One-line summaries of events, for people reading a timeline or an export."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

__all__ = ["SUMMARIES", "summarise"]

SUMMARIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ProgramLaunched": "The program was launched with its first policy",
        "ProgramPolicySet": (
            "Policy set: rotations of at most {policy[max_length_days]} days, "
            "{policy[max_concurrent]} away at once, {policy[max_guests_per_department]} "
            "guest(s) per department, {policy[max_mentees_per_mentor]} mentee(s) per mentor"
        ),
        "ReviewCycleOpened": "Review cycle {name} opened, from {start} to {end}",
        "ReviewCycleClosed": "Review cycle {name} closed on {on}",
        "ExemptionGranted": "{employee} exempted from review cycle {cycle}: {reason}",
        "DepartmentRegistered": "Department {code} ({name}) registered",
        "EmployeeRegistered": "Employee {code} ({name}) registered in {department}",
        "EmployeeTransferred": "Transferred from {from_department} to {to_department} on {on}",
        "EmployeeDeparted": "Left the company on {on}: {reason}",
        "EmployeeDetailsChanged": "Details changed: name {name}, e-mail {email}",
        "EmployeeForgotten": "Personal data forgotten (the key destroyed): {reason}",
        "EmployeeAssigned": "Assigned to rotation {rotation_id} as {role}",
        "RotationPlanned": "{participant} planned to rotate into {host_department} "
        "from {start} to {end}",
        "RotationRescheduled": "Rotation moved to {start} - {end}",
        "MentorshipLinked": "{mentor} nominated as the rotation's mentor",
        "RotationStarted": "Rotation started on {on}",
        "ObservationRecorded": "Observation ({category}): {text}",
        "ImprovementLinked": "Improvement {improvement_id} proposed as the rotation's payback",
        "ImprovementUnlinked": "Improvement {improvement_id} no longer counts as payback",
        "RotationCompleted": "Rotation completed on {on}",
        "RotationCancelled": "Rotation cancelled: {reason}",
        "RotationFlagged": "Rotation flagged: {reason}",
        "MentorNominated": "{mentor} nominated to mentor {participant} in {host_department}",
        "MentorAgreed": "The mentor agreed",
        "MentorDeclined": "The mentor declined: {reason}",
        "MentorBriefed": "The mentor was briefed on {on}",
        "MentorSessionHeld": "Mentor session ({kind}) on {on}: {topic}",
        "MentorshipConcluded": "Mentorship concluded: {feedback}",
        "MentorshipReleased": "Mentorship released: {reason}",
        "ImprovementProposed": '{participant} proposed "{title}" to {host_department}',
        "ImprovementAdopted": "Improvement adopted on {on}",
        "ImprovementRejected": "Improvement rejected: {reason}",
        "ImprovementWithdrawn": "Improvement withdrawn",
        "RosterOpened": "Roster of {month} opened",
        "RotationBooked": (
            "{booking[participant]} booked into {booking[host_department]} "
            "from {booking[period][start]} to {booking[period][end]}"
        ),
        "BookingReleased": "Rotation {rotation_id} no longer holds a place this month",
    }
)
"""One-line summary templates by event type, filled from the entry's ``data``."""

_SUMMARY_LIMIT: Final = 240
_WHITESPACE: Final = re.compile(r"\s+")


def summarise(event_type: str, data: Mapping[str, Any], aggregate_version: int = 0) -> str:
    """A one-line summary of an event: its `SUMMARIES` template, or a generic line.

    An event type without a template (a plugin's, or a newer one), or whose data lacks
    a field its template names, still gets a line naming the type and its fields.
    """
    template = SUMMARIES.get(event_type)
    line = None
    if template is not None:
        try:
            line = template.format_map(data)
        except (KeyError, IndexError, TypeError, ValueError):
            line = None
    if line is None:
        fields = ", ".join(sorted(data)) or "no fields"
        line = f"{event_type} (version {aggregate_version} of its aggregate; {fields})"
    line = _WHITESPACE.sub(" ", line).strip()
    if len(line) > _SUMMARY_LIMIT:
        line = line[: _SUMMARY_LIMIT - 1] + "\u2026"
    return line
