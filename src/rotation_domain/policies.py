"""Pure rule functions the aggregates call: R2 and the caps of R9, counted by a sweep over days."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from uuid import UUID

import attrs

from rotation_domain.errors import (
    CapacityExceeded,
    HostDepartmentFull,
    MentorUnavailable,
    OverlappingRotation,
    RotationTooLong,
)
from rotation_domain.values import DateRange, Immutable, Policy

__all__ = ["Booking", "check_caps", "check_length", "first_over"]


@attrs.frozen
class Booking(Immutable):
    """The place a rotation holds on each day of its window (R9).

    A rotation holds its place from the moment it is planned until it is cancelled.
    """

    rotation_id: UUID
    participant: str
    host_department: str
    period: DateRange
    mentor: str | None = None


def check_length(policy: Policy, period: DateRange) -> None:
    """R2: refuse a window longer than the policy allows."""
    if period.length_days > policy.max_length_days:
        raise RotationTooLong(
            f"a rotation from {period.start.isoformat()} to {period.end.isoformat()} lasts "
            f"{period.length_days} days; the program allows at most {policy.max_length_days} "
            "(R2: at most a month away)",
            length_days=period.length_days,
            max_length_days=policy.max_length_days,
        )


def check_caps(
    policy: Policy,
    others: Iterable[Booking],
    candidate: Booking,
    days: DateRange,
    *,
    mentor_only: bool = False,
) -> None:
    """R9: refuse the candidate booking if, on any day of ``days``, a cap would be exceeded.

    ``others`` are the bookings already held (the candidate's own previous booking, if
    any, is ignored). Checks, in order: the person is not away twice, the program-wide
    cap, the host department's cap, the mentor's cap. The first day that breaks a rule
    is reported with the numbers. With ``mentor_only`` (a mentor joins a rotation that
    already holds its places) only the mentor's cap is checked.
    """
    window = _intersection(candidate.period, days)
    if window is None:
        return
    relevant = [
        b for b in others if b.rotation_id != candidate.rotation_id and b.period.overlaps(window)
    ]
    if not relevant:
        return
    for booking in relevant:
        if not mentor_only and booking.participant == candidate.participant:
            first_day = max(booking.period.start, window.start)
            raise OverlappingRotation(
                f"{candidate.participant} is already on rotation {booking.rotation_id} from "
                f"{booking.period.start.isoformat()} to {booking.period.end.isoformat()}; "
                f"the two would overlap on {first_day.isoformat()} "
                "(R9: one rotation at a time)",
                employee=candidate.participant,
                other_rotation=booking.rotation_id,
                day=first_day,
            )
    # Each cap is a sweep over the bookings' first and last days, clipped to the window:
    # O(n log n) in the bookings, whatever their length (ADR 0002, "Counting the caps").
    first, last = window.start.toordinal(), window.end.toordinal()
    away: list[tuple[int, int]] = []
    guests: list[tuple[int, int]] = []
    mentees: list[tuple[int, int]] = []
    for booking in relevant:
        span = (
            max(booking.period.start.toordinal(), first),
            min(booking.period.end.toordinal(), last),
        )
        if not mentor_only:
            away.append(span)
            if booking.host_department == candidate.host_department:
                guests.append(span)
        if candidate.mentor is not None and booking.mentor == candidate.mentor:
            mentees.append(span)
    _refuse_first_over(
        away,
        policy.max_concurrent,
        lambda day, n: CapacityExceeded(
            f"{n} IT staff are already away on {day.isoformat()}; the program allows at most "
            f"{policy.max_concurrent} at once (R9)",
            day=day,
            away=n,
            max_concurrent=policy.max_concurrent,
        ),
    )
    _refuse_first_over(
        guests,
        policy.max_guests_per_department,
        lambda day, n: HostDepartmentFull(
            f"{candidate.host_department} already hosts {n} IT guest(s) on {day.isoformat()}; "
            f"a department takes at most {policy.max_guests_per_department} at once (R9)",
            department=candidate.host_department,
            day=day,
            guests=n,
            max_guests_per_department=policy.max_guests_per_department,
        ),
    )
    _refuse_first_over(
        mentees,
        policy.max_mentees_per_mentor,
        lambda day, n: MentorUnavailable(
            f"mentor {candidate.mentor} already guides {n} mentee(s) on {day.isoformat()}; "
            f"a mentor takes at most {policy.max_mentees_per_mentor} at once (R9)",
            mentor=candidate.mentor,
            day=day,
            mentees=n,
            max_mentees_per_mentor=policy.max_mentees_per_mentor,
        ),
    )


def first_over(spans: Sequence[tuple[int, int]], cap: int) -> tuple[int, int] | None:
    """The first day on which at least ``cap`` of the spans overlap, and how many do.

    Args:
        spans: ``(first, last)`` day ordinals, both included, with ``first <= last``.
        cap: The count that is already too many for one more.

    Returns:
        ``(day, count)`` for the earliest such day, or None when no day reaches ``cap``.
    """
    if not spans or len(spans) < cap:
        return None
    changes: dict[int, int] = {}
    for start, end in spans:
        changes[start] = changes.get(start, 0) + 1
        changes[end + 1] = changes.get(end + 1, 0) - 1
    count = 0
    for day in sorted(changes):
        count += changes[day]
        if count >= cap:
            return day, count
    return None


def _refuse_first_over(
    spans: Sequence[tuple[int, int]],
    cap: int,
    error: Callable[[date, int], Exception],
) -> None:
    found = first_over(spans, cap)
    if found is not None:
        day, count = found
        raise error(date.fromordinal(day), count)


def _intersection(a: DateRange, b: DateRange) -> DateRange | None:
    start, end = max(a.start, b.start), min(a.end, b.end)
    return DateRange(start, end) if start <= end else None
