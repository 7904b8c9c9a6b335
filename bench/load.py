"""Cold loads of the Program and of the busiest MonthRoster in a store of many rotations.

The store is seeded in bulk (`bench.seeding.BulkSeeder`, untimed): IT staff who each
plan a rotation every six months, a sixth of them starting in each month, so every
month's roster holds a few hundred bookings however many rotations there are; and a
Program with ten half-year review cycles (nine closed) and 2% of the staff exempted
per cycle. Then, each repetition opens a NEW program instance on the store (its connections
opened by one query and left to settle for 0.1 s) and times:

* ``first``: its first ``program.get(id)``: snapshot + later events read and decoded
  (building the mapper's per-class codecs on the way), the aggregate cached and
  copied. On PostgreSQL this includes the new connections' first queries on the
  tables (a new server backend loads its catalog caches: several ms);
* ``evicted``: the same, warmed instance after evicting the id from its cache: one
  unrecorded load, then three recorded ones. This is a cold load in a process that
  has been running: what a server pays when the aggregate is not cached;
* ``cached``: three more from the cache (a fast-forward query plus a deep copy),
  which is what every command pays for every aggregate it loads.

Finally, a few rotations are planned (and given a mentor) through ordinary commands in
the busiest month, to show what R9 costs when a roster holds that many bookings.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from bench.seeding import SEED_ACTOR, BulkSeeder, Company
from bench.stores import FreshStore
from rotation_domain import MonthRoster, RotationProgram, open_program
from rotation_domain.program import PROGRAM_ID
from rotation_domain.roster import months_of
from rotation_domain.values import DateRange

__all__ = ["LoadResult", "SeededStore", "measure_loads", "open_settled", "seed_store"]

IT_STAFF = 1_000
HOSTS = 20
MENTORS_PER_HOST = 2
MONTHS_BETWEEN_ROTATIONS = 6
CYCLES = 10
EXEMPTED_PER_CYCLE = 0.02
FIRST_YEAR = 2028
SETTLE_SECONDS = 0.1
WARM_LOADS = 3
POLICY: dict[str, int | bool] = {
    "max_length_days": 31,
    "max_concurrent": 1_000_000,
    "max_guests_per_department": 1_000_000,
    "max_mentees_per_mentor": 1_000_000,
}


@dataclass
class LoadResult:
    """What one store of ``rotations`` rotations gave."""

    rotations: int
    seed_seconds: float
    seed_events: int
    program: dict[str, Any] = field(default_factory=dict)
    roster: dict[str, Any] = field(default_factory=dict)
    first_ms: dict[str, list[float]] = field(default_factory=dict)
    evicted_ms: dict[str, list[float]] = field(default_factory=dict)
    cached_ms: dict[str, list[float]] = field(default_factory=dict)
    busy_month_ms: dict[str, list[float]] = field(default_factory=dict)


def _month(index: int) -> tuple[int, int]:
    return FIRST_YEAR + index // 12, index % 12 + 1


def _windows(rotations: int, staff: list[str]) -> list[tuple[str, int, DateRange]]:
    """(participant, host index, window) of each rotation, 21 days each."""
    planned = []
    for n in range(rotations):
        person, slot = n % len(staff), n // len(staff)
        year, month = _month(slot * MONTHS_BETWEEN_ROTATIONS + person % MONTHS_BETWEEN_ROTATIONS)
        start = date(year, month, 1 + (person * 7 + slot * 3) % 25)
        planned.append((staff[person], person + slot, DateRange(start, start + timedelta(days=20))))
    return planned


@dataclass(frozen=True)
class SeededStore:
    """A store `seed_store()` filled: what the timed loads need to know about it."""

    store: FreshStore
    company: Company
    busiest_month: str
    extra_staff: tuple[str, ...]
    rotations: int
    seconds: float
    events: int


def seed_store(store: FreshStore, rotations: int, busy_month_plans: int) -> SeededStore:
    """Fill an empty store in bulk: company, review cycles, exemptions, rotations.

    Also registers ``busy_month_plans`` IT staff without rotations, for
    `measure_loads()` to plan in the busiest month. Runs in a worker process when
    several stores are seeded at once, so it takes and returns plain data.
    """
    company = Company(it_staff=IT_STAFF, hosts=HOSTS, mentors_per_host=MENTORS_PER_HOST)
    extra = tuple(f"X{n:04d}" for n in range(busy_month_plans))
    planned = _windows(rotations, company.staff)
    per_month = Counter(month for _, _, window in planned for month in months_of(window))
    started = time.perf_counter()
    seeder = BulkSeeder(store.url)
    try:
        company.seed(seeder, POLICY)
        company.register_more(seeder, extra)
        program = seeder.program
        with program.acting_as(SEED_ACTOR):
            _seed_cycles(program, company)
            for person, host, window in planned:
                program.plan_rotation(
                    person,
                    host_department=company.hosts[host % len(company.hosts)],
                    start=window.start,
                    end=window.end,
                )
        seeder.flush()
        events = seeder.events()
    finally:
        seeder.close()
    return SeededStore(
        store=store,
        company=company,
        busiest_month=max(sorted(per_month), key=lambda month: per_month[month]),
        extra_staff=extra,
        rotations=rotations,
        seconds=time.perf_counter() - started,
        events=events,
    )


def _seed_cycles(program: RotationProgram, company: Company) -> None:
    """Half-year review cycles, all but the last closed, with 2% of the staff exempted."""
    for cycle in range(CYCLES):
        year, month = _month(cycle * 6)
        name = f"{year}-H{cycle % 2 + 1}"
        first = date(year, month, 1)
        year, month = _month(cycle * 6 + 6)
        program.open_review_cycle(name, start=first, end=date(year, month, 1) - timedelta(days=1))
        for k in range(int(len(company.staff) * EXEMPTED_PER_CYCLE)):
            person = company.staff[(cycle * 37 + k * 53) % len(company.staff)]
            program.grant_exemption(person, name, reason="long-term leave")
        if cycle < CYCLES - 1:
            program.close_review_cycle(name, on=date(year, month, 1))


def open_settled(url: str, settings: dict[str, str] | None = None) -> RotationProgram:
    """A new program instance whose store connections are open and idle.

    One query opens the SQLite connection or the PostgreSQL pool; the pause lets the
    pool finish opening its other connections in the background, so the timed
    loads measure loading aggregates, not connecting.
    """
    program = open_program(url, settings=settings)
    program.app.recorder.max_notification_id()
    time.sleep(SETTLE_SECONDS)
    return program


def _timed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _describe(program: RotationProgram, aggregate_id: UUID) -> dict[str, Any]:
    """Version, snapshot version and size, and the events replayed after the snapshot."""
    aggregate = program.get(aggregate_id)
    snapshots = program.app.snapshots
    latest = (
        list(snapshots.recorder.select_events(aggregate_id, desc=True, limit=1))
        if snapshots is not None
        else []
    )
    snapshot_version = latest[0].originator_version if latest else None
    return {
        "version": aggregate.version,
        "snapshot_version": snapshot_version,
        "snapshot_bytes": len(latest[0].state) if latest else 0,
        "events_after_snapshot": aggregate.version - (snapshot_version or 0),
    }


def measure_loads(
    seeded: SeededStore, repetitions: int, settings: dict[str, str] | None = None
) -> LoadResult:
    """Time cold loads of the Program and the busiest roster, then R9 commands at scale."""
    store = seeded.store
    result = LoadResult(
        rotations=seeded.rotations, seed_seconds=seeded.seconds, seed_events=seeded.events
    )
    roster_id = MonthRoster.id_for(seeded.busiest_month)
    targets = {"program": PROGRAM_ID, "roster": roster_id}
    with contextlib.closing(open_program(store.url)) as program:
        result.program = _describe(program, PROGRAM_ID)
        roster = program.get(roster_id)
        assert isinstance(roster, MonthRoster)
        result.roster = {"month": seeded.busiest_month, "bookings": len(roster.bookings)}
        result.roster.update(_describe(program, roster_id))
    for _ in range(repetitions):
        for name, aggregate_id in targets.items():
            with contextlib.closing(open_settled(store.url, settings)) as program:
                cache = program.app.repository.cache
                assert cache is not None, "open_program() caches aggregates by default"
                load = partial(program.get, aggregate_id)
                result.first_ms.setdefault(name, []).append(_timed_ms(load))
                for attempt in range(WARM_LOADS + 1):
                    cache.get(aggregate_id, evict=True)
                    took = _timed_ms(load)
                    if attempt:  # the first one still meets cold database connections
                        result.evicted_ms.setdefault(name, []).append(took)
                for _ in range(WARM_LOADS):
                    result.cached_ms.setdefault(name, []).append(_timed_ms(load))
    _plan_in_busiest_month(seeded, result, settings)
    return result


def _plan_in_busiest_month(
    seeded: SeededStore, result: LoadResult, settings: dict[str, str] | None
) -> None:
    """Plan rotations (and nominate their mentors) in the busiest month, one command each."""
    company, month = seeded.company, seeded.busiest_month
    first = date(int(month[:4]), int(month[5:7]), 1)
    opened = open_program(seeded.store.url, settings=settings)
    with contextlib.closing(opened) as program, program.acting_as(SEED_ACTOR):
        for n, person in enumerate(seeded.extra_staff):
            host = company.hosts[n % len(company.hosts)]
            start = first + timedelta(days=n % 7)
            started = time.perf_counter()
            rotation = program.plan_rotation(
                person, host_department=host, start=start, end=start + timedelta(days=20)
            )
            planned = time.perf_counter()
            program.nominate_mentor(rotation, mentor=company.mentors[host][0])
            nominated = time.perf_counter()
            result.busy_month_ms.setdefault("plan_rotation", []).append((planned - started) * 1000)
            result.busy_month_ms.setdefault("nominate_mentor", []).append(
                (nominated - planned) * 1000
            )
