"""R9's caps are counted by a sweep over the bookings' days: the same answers as per day.

`check_caps` once counted every shared day of every overlapping booking (O(bookings x
days)); it now sorts the bookings' first and last days. These tests hold the sweep to
the per-day count it replaced, on random rosters, error for error and message for message.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rotation_domain.errors import (
    CapacityExceeded,
    HostDepartmentFull,
    MentorUnavailable,
    OverlappingRotation,
)
from rotation_domain.policies import Booking, check_caps, first_over
from rotation_domain.values import DateRange, Policy

ORIGIN = date(2027, 1, 1).toordinal()


def per_day(spans: list[tuple[int, int]], cap: int) -> tuple[int, int] | None:
    """The reference: count every day of every span, then take the first day at the cap."""
    counts: Counter[int] = Counter()
    for start, end in spans:
        counts.update(range(start, end + 1))
    over = [day for day, n in counts.items() if n >= cap]
    return (min(over), counts[min(over)]) if over else None


spans_strategy = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 40)).map(
        lambda pair: (ORIGIN + pair[0], ORIGIN + pair[0] + pair[1])
    ),
    max_size=30,
)


@given(spans_strategy, st.integers(1, 8))
def test_first_over_finds_the_same_day_and_count_as_counting_each_day(
    spans: list[tuple[int, int]], cap: int
) -> None:
    assert first_over(spans, cap) == per_day(spans, cap)


def test_first_over_counts_a_booking_on_its_last_day_and_not_the_day_after() -> None:
    assert first_over([(10, 12), (12, 15)], 2) == (12, 2)
    assert first_over([(10, 12), (13, 15)], 2) is None
    assert first_over([(10, 12)], 1) == (10, 1)
    assert first_over([], 1) is None


def reference_check(
    policy: Policy,
    others: list[Booking],
    candidate: Booking,
    days: DateRange,
    *,
    mentor_only: bool = False,
) -> None:
    """`check_caps` as it was: every shared day counted in a `Counter`."""
    start, end = max(candidate.period.start, days.start), min(candidate.period.end, days.end)
    if start > end:
        return
    window = DateRange(start, end)
    relevant = [
        b for b in others if b.rotation_id != candidate.rotation_id and b.period.overlaps(window)
    ]
    for booking in relevant:
        if not mentor_only and booking.participant == candidate.participant:
            first_day = max(booking.period.start, window.start)
            raise OverlappingRotation(
                "overlap",
                employee=candidate.participant,
                other_rotation=booking.rotation_id,
                day=first_day,
            )
    first, last = window.start.toordinal(), window.end.toordinal()
    away: Counter[int] = Counter()
    guests: Counter[int] = Counter()
    mentees: Counter[int] = Counter()
    for booking in relevant:
        shared = range(
            max(booking.period.start.toordinal(), first),
            min(booking.period.end.toordinal(), last) + 1,
        )
        if not mentor_only:
            away.update(shared)
            if booking.host_department == candidate.host_department:
                guests.update(shared)
        if candidate.mentor is not None and booking.mentor == candidate.mentor:
            mentees.update(shared)
    checks: list[tuple[Counter[int], int, Callable[[date, int], Exception]]] = [
        (away, policy.max_concurrent, lambda d, n: CapacityExceeded("", day=d, away=n)),
        (guests, policy.max_guests_per_department, lambda d, n: HostDepartmentFull("", day=d)),
        (mentees, policy.max_mentees_per_mentor, lambda d, n: MentorUnavailable("", day=d)),
    ]
    for counts, cap, error in checks:
        over = [day for day, n in counts.items() if n >= cap]
        if over:
            raise error(date.fromordinal(min(over)), counts[min(over)])


PEOPLE = [f"P{n}" for n in range(40)]
HOSTS = ["FIN", "HR", "OPS"]
MENTORS = [None, "M1", "M2"]


@st.composite
def bookings(draw: st.DrawFn) -> Booking:
    start = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 75)))
    return Booking(
        rotation_id=draw(st.uuids()),
        participant=draw(st.sampled_from(PEOPLE)),
        host_department=draw(st.sampled_from(HOSTS)),
        period=DateRange(start, start + timedelta(days=draw(st.integers(0, 30)))),
        mentor=draw(st.sampled_from(MENTORS)),
    )


def outcome(check: Callable[[], None]) -> tuple[str, object] | None:
    """What a check did: nothing, or the error's kind and the day it names."""
    try:
        check()
    except (OverlappingRotation, CapacityExceeded, HostDepartmentFull, MentorUnavailable) as e:
        return type(e).__name__, e.details.get("day")
    return None


@settings(max_examples=300)
@given(
    st.lists(bookings(), max_size=25),
    bookings(),
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(1, 3),
    st.booleans(),
)
def test_check_caps_refuses_what_the_per_day_count_refused(
    others: list[Booking],
    candidate: Booking,
    max_concurrent: int,
    max_guests: int,
    max_mentees: int,
    mentor_only: bool,
) -> None:
    policy = Policy(
        max_concurrent=max_concurrent,
        max_guests_per_department=max_guests,
        max_mentees_per_mentor=max_mentees,
    )
    days = DateRange(date(2027, 1, 10), date(2027, 3, 10))
    assert outcome(
        lambda: check_caps(policy, others, candidate, days, mentor_only=mentor_only)
    ) == outcome(lambda: reference_check(policy, others, candidate, days, mentor_only=mentor_only))


def test_a_refusal_names_the_first_full_day_and_the_count_on_it() -> None:
    policy = Policy(max_concurrent=2, max_guests_per_department=5, max_mentees_per_mentor=5)
    jan = DateRange(date(2027, 1, 1), date(2027, 1, 31))

    def held(participant: str, first: int, last: int) -> Booking:
        period = DateRange(date(2027, 1, first), date(2027, 1, last))
        return Booking(uuid.uuid4(), participant, "FIN", period)

    others = [held("A", 1, 10), held("B", 8, 20), held("C", 15, 25)]
    with pytest.raises(CapacityExceeded, match="2 IT staff are already away on 2027-01-08") as e:
        check_caps(policy, others, held("D", 5, 30), jan)
    assert e.value.details["day"] == date(2027, 1, 8)
    assert e.value.details["away"] == 2
