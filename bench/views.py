"""Rebuild every standard view from N events on a SQLite file, against the bare library's scan.

``.venv/bin/python bench/views.py [--quick] [--events N] [--clock] [--json FILE] [--markdown FILE]``

The log is generated fast but as a real program writes it: the domain aggregates are
built directly (`Rotation.plan`, `Mentorship.nominate`, ... the methods the commands
call) for a company that runs the program for eight years, and each "command"'s
events are appended in command order, commands ordered by their business day, so the
rotations of a month interleave in the log as they do in time. The events are saved
with ``program.app.save(*events)`` in batches of thousands (one transaction each) on
a program opened with ``inline=False``; nothing is timed while generating.

Timed, in the same run and alternately:

* ``rebuild``: ``program.rebuild()`` (all five standard views, one pass over the log,
  read 1,000 events a query, committed 50,000 a transaction) on a freshly opened
  program -> events of the log per second.
* ``baseline``: a bare eventsourcing `Application` (default `Mapper`, JSON transcoder)
  whose trivial aggregate has the same number of events, saved in batches, scanned
  with ``recorder.select_notifications(start, limit=1000)`` and each notification
  mapped with ``mapper.to_domain_event`` -> events per second.

Each timed scan and rebuild runs in a new process (`bench.isolation.in_fresh_process`):
in one process, what an earlier rebuild left (the library's caches, a larger heap)
slowed the next bare scan by a third.

The ratio rebuild / baseline is reported (target >= 0.5). When it is missed, the
rebuild of a smaller log is profiled with cProfile and the time is split into where
it goes (reading the log, mapping, the views' ``apply``, row reads from SQLite and
their JSON decoding, deep copies, JSON encoding and writing the rows), by cProfile and
by clocks around those parts (which distort far less). ``--clock`` also times the parts
of one more rebuild of the whole log, since the costs grow with the program's size.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import io
import json
import math
import os
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

# Run as a script, only the bench directory is on sys.path; `bench.*` needs the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.domain import Aggregate, event

from bench.baseline import BaselineApplication
from bench.isolation import in_fresh_process
from bench.machine import machine_info, source_revision
from bench.stores import FreshStore, SQLiteStores
from rotation_domain import (
    Department,
    Employee,
    Improvement,
    Mentorship,
    MonthRoster,
    Policy,
    Program,
    Rotation,
    RotationProgram,
    open_program,
)
from rotation_domain.employee import Role
from rotation_domain.policies import Booking
from rotation_domain.roster import months_of
from rotation_domain.values import DateRange, SessionKind

__all__ = [
    "LogStats",
    "RunningRotation",
    "build_log",
    "main",
    "shape_for",
]

PLUGINS = "default_views"
RATIO_TARGET = 0.5
FULL_EVENTS = 1_000_000
QUICK_EVENTS = 50_000
SAVE_BATCH = 5_000
"""Events per ``app.save`` (one transaction) while generating."""
BASELINE_BATCH = 10_000
SCAN_PAGE = 1_000
ACTOR = "bench-views@example.com"
FIRST_YEAR = 2027
YEARS = 8
EVENTS_PER_LIFE = 25.0
"""About what one rotation's life writes with this generator's mix (measured: ~25)."""
SESSION_KINDS = (SessionKind.DISCUSSION, SessionKind.READING, SessionKind.HANDS_ON)
POLICY = Policy(
    max_length_days=31,
    max_concurrent=100_000,
    max_guests_per_department=100_000,
    max_mentees_per_mentor=100_000,
)

# The share of rotation lives that take a side road (the rest go plan -> completion).
CANCELLED = 0.04
"""Cancelled before they start (bookings released, mentorship released)."""
DECLINED = 0.05
"""The first mentor declines and a second one is nominated."""
REJECTED = 0.15
"""The host department rejects the improvement instead of adopting it."""
CONCLUDED = 0.80
"""The mentor concludes the mentorship with feedback after the rotation ends."""
EXEMPTED = 0.02
"""IT staff exempted from a review cycle's objective (per cycle)."""


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Generating a program's log.


@dataclass(frozen=True)
class Shape:
    """The company and the program that a log of some size describes."""

    rotations: int
    it_staff: int
    hosts: int
    mentors_per_host: int
    years: int


def shape_for(events: int) -> Shape:
    """A company whose IT staff each rotate about once a year for eight years."""
    rotations = max(16, round(events / EVENTS_PER_LIFE))
    it_staff = max(16, math.ceil(rotations / YEARS))
    hosts = min(40, max(4, it_staff // 25))
    return Shape(rotations, it_staff, hosts, mentors_per_host=6, years=YEARS)


@dataclass(frozen=True)
class RunningRotation:
    """A rotation left in progress at the end of the log, with its agreed mentorship."""

    rotation_id: UUID
    mentorship_id: UUID
    start: date
    end: date


@dataclass
class LogStats:
    """What a generated log holds."""

    events: int = 0
    rotations: int = 0
    completed: int = 0
    cancelled: int = 0
    observations: int = 0
    sessions: int = 0
    improvements: int = 0
    adopted: int = 0
    seconds: float = 0.0
    topics: dict[str, int] = field(default_factory=dict)
    running: list[RunningRotation] = field(default_factory=list)


@dataclass
class _Life:
    """One rotation's plan and, while it is generated, its aggregates."""

    participant: str
    host: str
    mentors: tuple[str, str]
    start: date
    end: date
    declined: bool
    cancelled: bool
    rejected: bool
    concluded: bool
    stop_after_start: bool = False
    rotation: Rotation | None = None
    mentorship: Mentorship | None = None
    improvement: Improvement | None = None


# Each step's rank orders the steps of one day (a life's steps never go back in time).
_RANKS = {
    name: rank
    for rank, name in enumerate(
        (
            "plan",
            "nominate",
            "decline",
            "renominate",
            "accept",
            "brief",
            "cancel",
            "start",
            "session",
            "observation",
            "propose",
            "decide",
            "complete",
            "conclude",
        )
    )
}


def _schedule(life: _Life, rng: random.Random) -> list[tuple[date, str, int]]:
    """The life's steps as (business day, step, argument), in the life's order."""
    start, end = life.start, life.end
    plan = start - timedelta(days=rng.randint(30, 60))
    nominate = plan + timedelta(days=rng.randint(1, 5))
    steps = [(plan, "plan", 0), (nominate, "nominate", 0)]
    accept = nominate
    if life.declined:
        steps += [
            (nominate + timedelta(days=2), "decline", 0),
            (nominate + timedelta(days=4), "renominate", 0),
        ]
        accept = nominate + timedelta(days=4)
    steps += [
        (accept + timedelta(days=rng.randint(1, 4)), "accept", 0),
        (start - timedelta(days=rng.randint(1, 7)), "brief", 0),
    ]
    if life.cancelled:
        return [*steps, (start - timedelta(days=1), "cancel", 0)]
    steps.append((start, "start", 0))
    if life.stop_after_start:
        return steps
    length = (end - start).days
    steps += [(start + timedelta(days=k * length // 6), "session", k) for k in range(6)]
    steps += [(start + timedelta(days=d), "observation", n) for n, d in enumerate((1, 4, 7))]
    proposed = start + timedelta(days=3)
    decided = rng.randint(1, 10)
    steps += [
        (proposed, "propose", 0),
        (proposed + timedelta(days=decided), "decide", decided),
        (end, "complete", 0),
    ]
    if life.concluded:
        steps.append((max(end, proposed + timedelta(days=11)) + timedelta(days=1), "conclude", 0))
    return steps


class _LogWriter:
    """Runs the steps on the aggregates and saves their events in command order."""

    def __init__(self, program: RotationProgram, stats: LogStats) -> None:
        self.app = program.app
        self.stats = stats
        self.pending: list[Any] = []
        self.employees: dict[str, Employee] = {}
        self.rosters: dict[str, MonthRoster] = {}
        self.program: Program | None = None
        self.topics: Counter[str] = Counter()

    # Saving.

    def emit(self, *aggregates: Aggregate | None) -> None:
        """One command's events: each aggregate's new events, in the order given."""
        for aggregate in aggregates:
            if aggregate is not None:
                self.pending.extend(aggregate.collect_events())
        if len(self.pending) >= SAVE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.app.save(*self.pending)
            self.stats.events += len(self.pending)
            self.topics.update(type(e).__name__ for e in self.pending)
            self.pending = []

    # The directory and the program.

    def directory(self, shape: Shape, staff: list[str], hosts: list[str]) -> dict[str, list[str]]:
        departments = [
            Department.register("IT", name="IT department", is_it=True, actor=ACTOR),
            Department.register("ITOPS", name="IT operations", is_it=True, actor=ACTOR),
            *(Department.register(h, name=f"Host {h}", is_it=False, actor=ACTOR) for h in hosts),
        ]
        self.emit(*departments)
        mentors: dict[str, list[str]] = {}
        for n, code in enumerate(staff):
            self._register(code, ("IT", "ITOPS")[n % 2])
        for host in hosts:
            mentors[host] = [f"M-{host}-{k}" for k in range(shape.mentors_per_host)]
            for code in mentors[host]:
                self._register(code, host)
        self.program = Program.launch(POLICY, actor=ACTOR)
        self.emit(self.program)
        return mentors

    def _register(self, code: str, department: str) -> None:
        person = Employee.register(
            code,
            name=f"Person {code}",
            email=f"{code.lower()}@example.com",
            department=department,
            manager=None,
            actor=ACTOR,
        )
        self.employees[code] = person
        self.emit(person)

    def cycle(self, year: int, *, close: bool) -> None:
        assert self.program is not None
        if close:
            self.program.close_review_cycle(str(year), date(year + 1, 1, 5), actor=ACTOR)
        else:
            period = DateRange(date(year, 1, 1), date(year, 12, 31))
            self.program.open_review_cycle(str(year), period, actor=ACTOR)
        self.emit(self.program)

    def exempt(self, employee: str, year: int) -> None:
        assert self.program is not None
        self.program.grant_exemption(employee, str(year), "parental leave", actor=ACTOR)
        self.emit(self.program)

    # A rotation's life.

    def _roster(self, month: str) -> tuple[MonthRoster, bool]:
        roster = self.rosters.get(month)
        if roster is None:
            roster = MonthRoster.open(month, actor=ACTOR)
            self.rosters[month] = roster
            return roster, True
        return roster, False

    def _book(
        self, rotation: Rotation, mentor: str | None
    ) -> tuple[list[MonthRoster], list[MonthRoster]]:
        """The rotation's place in each month it touches (the caps are not counted here)."""
        booking = Booking(
            rotation.id, rotation.participant, rotation.host_department, rotation.period, mentor
        )
        created: list[MonthRoster] = []
        existing: list[MonthRoster] = []
        for month in months_of(rotation.period):
            roster, new = self._roster(month)
            roster.trigger_event(MonthRoster.RotationBooked, actor=ACTOR, booking=booking)
            (created if new else existing).append(roster)
        return created, existing

    def _nominate(self, life: _Life, mentor: str) -> None:
        rotation = life.rotation
        assert rotation is not None
        created, existing = self._book(rotation, mentor)
        mentorship = Mentorship.nominate(
            rotation.id, mentor, life.participant, life.host, actor=ACTOR
        )
        rotation.link_mentorship(mentorship.id, mentor, actor=ACTOR)
        person = self.employees[mentor]
        person.assign(rotation.id, Role.MENTOR, mentorship_id=mentorship.id, actor=ACTOR)
        life.mentorship = mentorship
        self.emit(mentorship, *created, rotation, person, *existing)

    def step(self, life: _Life, name: str, argument: int) -> None:
        rotation, mentorship = life.rotation, life.mentorship
        if name == "plan":
            rotation = Rotation.plan(
                life.participant, life.host, DateRange(life.start, life.end), actor=ACTOR
            )
            life.rotation = rotation
            created, existing = self._book(rotation, None)
            person = self.employees[life.participant]
            person.assign(rotation.id, Role.PARTICIPANT, actor=ACTOR)
            self.emit(rotation, *created, person, *existing)
            self.stats.rotations += 1
            return
        assert rotation is not None
        if name == "nominate":
            self._nominate(life, life.mentors[0])
        elif name == "decline":
            assert mentorship is not None
            mentorship.decline("not available then", actor=ACTOR)
            created, existing = self._book(rotation, None)
            self.emit(mentorship, *created, *existing)
        elif name == "renominate":
            self._nominate(life, life.mentors[1])
        elif name == "accept":
            assert mentorship is not None
            mentorship.accept(actor=ACTOR)
            self.emit(mentorship)
        elif name == "brief":
            assert mentorship is not None
            mentorship.brief(life.start - timedelta(days=1), actor=ACTOR)
            self.emit(mentorship)
        elif name == "cancel":
            self._cancel(life, rotation, mentorship)
        elif name == "start":
            assert mentorship is not None
            rotation.start(
                life.start,
                mentor_status=mentorship.status,
                mentor_briefed=mentorship.briefed_on is not None,
                require_briefing=POLICY.require_briefing,
                actor=ACTOR,
            )
            self.emit(rotation)
        else:
            self._in_progress(life, rotation, name, argument)

    def _cancel(self, life: _Life, rotation: Rotation, mentorship: Mentorship | None) -> None:
        rotation.cancel("the participant's project needs them", None, actor=ACTOR)
        rosters = [self.rosters[month] for month in months_of(rotation.period)]
        for roster in rosters:
            roster.release(rotation.id, actor=ACTOR)
        if mentorship is not None and mentorship.is_open:
            mentorship.release("rotation cancelled", actor=ACTOR)
        self.emit(rotation, *rosters, mentorship)
        self.stats.cancelled += 1
        self._done(life)

    def _in_progress(self, life: _Life, rotation: Rotation, name: str, argument: int) -> None:
        mentorship = life.mentorship
        assert mentorship is not None
        if name == "session":
            on = life.start + timedelta(days=argument * (life.end - life.start).days // 6)
            kind = SESSION_KINDS[argument % len(SESSION_KINDS)]
            rotation.check_session_date(on)
            mentorship.hold_session(kind, on, f"Session {argument + 1}: how it works", actor=ACTOR)
            self.emit(mentorship)
            self.stats.sessions += 1
        elif name == "observation":
            on = life.start + timedelta(days=(1, 4, 7)[argument])
            rotation.record_observation(
                f"Observation {argument + 1}: a manual step IT could automate", on, actor=ACTOR
            )
            self.emit(rotation)
            self.stats.observations += 1
        elif name == "propose":
            improvement = Improvement.propose(
                rotation.id,
                life.participant,
                life.host,
                title=f"Automate a report of {life.host}",
                description="A script replaces a weekly manual export.",
                on=life.start + timedelta(days=3),
                actor=ACTOR,
            )
            rotation.link_improvement(improvement.id, actor=ACTOR)
            life.improvement = improvement
            self.emit(improvement, rotation)
            self.stats.improvements += 1
        elif name == "decide":
            decided = life.improvement
            assert decided is not None
            assert decided.proposed_on is not None
            on = decided.proposed_on + timedelta(days=argument)
            if life.rejected:
                decided.reject("not now", on, actor=ACTOR)
            else:
                decided.adopt(on, actor=ACTOR)
                self.stats.adopted += 1
            self.emit(decided)
        elif name == "complete":
            rotation.complete(life.end, actor=ACTOR)
            self.emit(rotation)
            self.stats.completed += 1
            if not life.concluded:
                self._done(life)
        elif name == "conclude":
            mentorship.conclude("A curious and helpful guest.", actor=ACTOR)
            self.emit(mentorship)
            self._done(life)
        else:  # pragma: no cover - the schedule names only the steps above
            raise ValueError(f"unknown step {name!r}")

    @staticmethod
    def _done(life: _Life) -> None:
        life.rotation = life.mentorship = life.improvement = None


def _lives(
    shape: Shape, staff: list[str], mentors: dict[str, list[str]], rng: random.Random
) -> list[_Life]:
    """One rotation a year for each IT employee, until the shape's count is reached."""
    hosts = sorted(mentors)
    lives = []
    for n in range(shape.rotations):
        year, person = divmod(n, len(staff))
        host = rng.choice(hosts)
        first, second = rng.sample(mentors[host], 2)
        start = date(FIRST_YEAR + year, 1, 1) + timedelta(days=rng.randrange(0, 330))
        lives.append(
            _Life(
                participant=staff[person],
                host=host,
                mentors=(first, second),
                start=start,
                end=start + timedelta(days=rng.randint(17, 28)),
                declined=rng.random() < DECLINED,
                cancelled=rng.random() < CANCELLED,
                rejected=rng.random() < REJECTED,
                concluded=rng.random() < CONCLUDED,
            )
        )
    return lives


def build_log(
    url: str,
    events: int,
    *,
    running: int = 0,
    seed: int = 20270101,
    progress: Callable[[str], None] | None = None,
) -> LogStats:
    """Write a program's log of about ``events`` events to the empty store at ``url``.

    ``running`` more rotations are left in progress (started, mentor agreed and briefed)
    at the end of the log; their ids are in the returned `LogStats.running`.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    shape = shape_for(events)
    staff = [f"P{n:05d}" for n in range(shape.it_staff)]
    hosts = [f"H{n:02d}" for n in range(shape.hosts)]
    stats = LogStats()
    program = open_program(url, inline=False)
    try:
        writer = _LogWriter(program, stats)
        mentors = writer.directory(shape, staff, hosts)
        lives = _lives(shape, staff, mentors, rng)
        last_year = max(life.start.year for life in lives)
        for n in range(running):
            start = date(last_year + 1, 1, 5) + timedelta(days=n % 20)
            host = hosts[n % len(hosts)]
            lives.append(
                _Life(
                    participant=staff[n % len(staff)],
                    host=host,
                    mentors=(mentors[host][0], mentors[host][1]),
                    start=start,
                    end=start + timedelta(days=27),
                    declined=False,
                    cancelled=False,
                    rejected=False,
                    concluded=False,
                    stop_after_start=True,
                )
            )
        # Program steps: the review cycles open on 1 January and close early the next
        # year; a few people are exempted each year.
        program_steps: list[tuple[date, int, int, Callable[[], None]]] = []
        for year in range(FIRST_YEAR, last_year + 1):
            program_steps.append(
                (date(year, 1, 1), -1, 0, partial(writer.cycle, year, close=False))
            )
            program_steps.append(
                (date(year + 1, 1, 5), -1, 1, partial(writer.cycle, year, close=True))
            )
            for person in rng.sample(staff, max(1, int(len(staff) * EXEMPTED))):
                program_steps.append(
                    (date(year, 2, 1), -1, 2, partial(writer.exempt, person, year))
                )
        steps: list[tuple[date, int, int, Callable[[], None]]] = list(program_steps)
        for index, life in enumerate(lives):
            for day, name, argument in _schedule(life, rng):
                run = partial(writer.step, life, name, argument)
                steps.append((day, _RANKS[name], index, run))
        steps.sort(key=lambda s: (s[0], s[1], s[2]))
        if progress is not None:
            progress(
                f"generating ~{events:,} events: {shape.rotations:,} rotations, "
                f"{shape.it_staff:,} IT staff, {shape.hosts} hosts x {shape.mentors_per_host} "
                f"mentors, {len(steps):,} commands"
            )
        for _, _, _, command in steps:
            command()
        writer.flush()
        for life in lives[len(lives) - running :]:
            assert life.rotation is not None
            assert life.mentorship is not None
            stats.running.append(
                RunningRotation(life.rotation.id, life.mentorship.id, life.start, life.end)
            )
        stats.topics = dict(writer.topics.most_common())
    finally:
        program.close()
    stats.seconds = time.perf_counter() - started
    return stats


# --------------------------------------------------------------------------------------
# The baseline: the bare library.


class Ticker(Aggregate):
    """A trivial aggregate: one integer, changed by one small event."""

    def __init__(self) -> None:
        self.n = 0

    @event("Ticked")
    def tick(self, n: int) -> None:
        """Set the integer."""
        self.n = n


def write_baseline(store: FreshStore, events: int) -> float:
    """Save ``events`` events of one trivial aggregate in batches; return the seconds."""
    started = time.perf_counter()
    app = BaselineApplication(env=store.baseline_env)
    try:
        counter = Ticker()
        written = 1
        for n in range(events - 1):
            counter.tick(n)
            written += 1
            if written % BASELINE_BATCH == 0:
                app.save(counter)
        app.save(counter)
    finally:
        app.close()
    return time.perf_counter() - started


def scan_baseline(store: FreshStore) -> tuple[int, float]:
    """Scan the whole log in pages of 1,000 and map every notification: (events, seconds)."""
    app = BaselineApplication(env=store.baseline_env)
    try:
        recorder, mapper = app.recorder, app.mapper
        gc.collect()
        started = time.perf_counter()
        count, start = 0, 1
        while True:
            page = recorder.select_notifications(start, limit=SCAN_PAGE)
            for notification in page:
                mapper.to_domain_event(notification)
            count += len(page)
            if len(page) < SCAN_PAGE:
                break
            start = page[-1].id + 1
        seconds = time.perf_counter() - started
    finally:
        app.close()
    return count, seconds


# --------------------------------------------------------------------------------------
# The rebuild, and where its time goes.


@dataclass
class RebuildSample:
    """One timed ``program.rebuild()``."""

    events: int
    seconds: float
    rows_before: int
    rows_after: int
    read_events: int
    processes: int = 1

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def _view_rows(program: RotationProgram) -> int:
    store: Any = program.consumers.store
    row = store._read_one("SELECT count(*) FROM rotation_view_rows", ())
    return int(row[0]) if row else 0


def _read_events(program: RotationProgram) -> int:
    """How many events of the log the five views ask for (their topics)."""
    topics = sorted(set().union(*(r.view.topics for r in program.consumers.views.values())))
    app: Any = program.app
    with app.recorder.datastore.transaction(commit=False) as cursor:
        marks = ",".join("?" * len(topics))
        cursor.execute(f"SELECT count(*) FROM stored_events WHERE topic IN ({marks})", topics)
        return int(cursor.fetchone()[0])


def rebuild_once(url: str, workers: int | None = None) -> RebuildSample:
    """Open the program afresh and time ``program.rebuild(workers=workers)`` of all its views.

    Without ``workers`` the program chooses (one process per CPU from 100,000 events).
    """
    program = open_program(url, inline=False)
    try:
        events = program.app.recorder.max_notification_id() or 0
        rows_before = _view_rows(program)
        read = _read_events(program)
        gc.collect()
        started = time.perf_counter()
        processes = program.rebuild(workers=workers)
        seconds = time.perf_counter() - started
        _check_views(program, events)
        rows_after = _view_rows(program)
    finally:
        program.close()
    return RebuildSample(events, seconds, rows_before, rows_after, read, processes)


def ceiling_once(url: str) -> RebuildSample:
    """Time ``program.rebuild()`` with every view's ``apply`` doing nothing.

    The same pages are read and mapped, the same envelopes made and handed to each view
    that asks for their topic, and the positions committed: what the rebuild would cost
    if the five views' own logic took no time. Its ratio to the baseline is the most any
    work on the views alone could reach.
    """
    program = open_program(url, inline=False)
    try:
        store = program.consumers.store
        for name, runner in program.consumers.views.items():
            runner.view.apply = _ignore  # type: ignore[method-assign]
            store.reset_view(name, [name])  # untimed: the timed rebuilds start from no rows too
        events = program.app.recorder.max_notification_id() or 0
        gc.collect()
        started = time.perf_counter()
        program.rebuild(workers=1)  # the views doing nothing are this process's
        seconds = time.perf_counter() - started
        _check_views(program, events)
    finally:
        program.close()
    # The views of the real log are rebuilt afterwards by the next timed rebuild or check.
    return RebuildSample(events, seconds, 0, 0, 0)


def _ignore(envelope: Any, rows: Any) -> None:
    """A view's ``apply`` that does nothing."""


def _check_views(program: RotationProgram, head: int) -> None:
    """Every view reached the head with no failing event (else the figure means nothing)."""
    for status in program.consumer_status():
        if status.kind == "view" and (status.position != head or status.parked or status.retrying):
            raise RuntimeError(f"view {status.name} did not rebuild cleanly: {status}")


def check_contents(url: str, stats: LogStats) -> dict[str, int]:
    """The views' totals, compared with what the generator wrote."""
    program = open_program(url, inline=False)
    try:
        bridges = program.views.department_bridges()
        mentors = program.views.mentor_engagement()
        pipeline = program.views.improvement_pipeline()
        found = {
            "rotations_hosted": sum(r.rotations_hosted for r in bridges),
            "rotations_completed": sum(r.rotations_completed for r in bridges),
            "observations": sum(r.observations for r in bridges),
            "improvements_adopted": sum(r.improvements_adopted for r in bridges),
            "mentor_sessions": sum(r.sessions for r in mentors),
            "improvements": len(pipeline.improvements),
        }
    finally:
        program.close()
    expected = {
        "rotations_hosted": stats.rotations - stats.cancelled,
        "rotations_completed": stats.completed,
        "observations": stats.observations,
        "improvements_adopted": stats.adopted,
        "mentor_sessions": stats.sessions,
        "improvements": stats.improvements,
    }
    if found != expected:
        raise RuntimeError(f"the rebuilt views disagree with the log: {found} != {expected}")
    return found


_VIEW_MODULES = (
    "rotation_domain.default_views._base",
    "rotation_domain.default_views.capacity",
    "rotation_domain.default_views.department_bridges",
    "rotation_domain.default_views.improvement_pipeline",
    "rotation_domain.default_views.mentor_engagement",
    "rotation_domain.default_views.participation",
)


class _Timings:
    """Wraps a few functions with a clock: calls and seconds of each, restored on close."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}
        self._patches: list[tuple[object, str, Any, bool]] = []

    def wrap(self, owner: object, attr: str, label: str) -> None:
        original = getattr(owner, attr)
        owned = attr in vars(owner)
        total = self.totals.setdefault(label, [0, 0.0])
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                total[0] += 1
                total[1] += clock() - started

        setattr(owner, attr, timed)
        self._patches.append((owner, attr, original, owned))

    def close(self) -> None:
        for owner, attr, original, owned in reversed(self._patches):
            if owned:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patches.clear()


def attribute_rebuild(url: str, events: int) -> dict[str, Any]:
    """Time one rebuild with clocks around its parts (far less overhead than cProfile).

    The parts nest: row reads, deep copies and keys are inside the views' ``apply``
    (fold); JSON decoding is inside the row reads; JSON encoding inside the commits.
    """
    import importlib

    import adapters.consumer_store_sqlite as sqlite_store
    import rotation_domain.rebuild as rebuild
    import rotation_domain.runners as runners
    from rotation_domain.default_views._base import HandlerView

    program = open_program(url, inline=False)
    timings = _Timings()
    try:
        recorder: Any = program.app.recorder
        timings.wrap(recorder, "select_notifications", "read the log")
        timings.wrap(runners, "envelope_of", "map to events")  # the general way
        timings.wrap(rebuild, "envelope_of", "map to events")  # views rebuilt in place
        timings.wrap(HandlerView, "apply", "views' apply (fold)")  # both ways
        timings.wrap(sqlite_store._SQLiteRows, "get", "row reads from SQLite")
        timings.wrap(sqlite_store, "decode_doc", "JSON decode of rows")
        for name in _VIEW_MODULES:
            module = importlib.import_module(name)
            for attr, label in (("copied", "deep copies"), ("key", "row keys (quote)")):
                if hasattr(module, attr):
                    timings.wrap(module, attr, label)
        timings.wrap(sqlite_store.SQLiteConsumerStore, "commit_views", "commit rows")
        timings.wrap(sqlite_store, "encode_changes", "JSON encode of rows")
        timings.wrap(sqlite_store.SQLiteConsumerStore, "reset_views", "reset views")
        gc.collect()
        started = time.perf_counter()
        program.rebuild(workers=1)  # the clocks are in this process
        wall = time.perf_counter() - started
    finally:
        timings.close()
        program.close()
    totals = {label: (int(calls), seconds) for label, (calls, seconds) in timings.totals.items()}
    fold = totals["views' apply (fold)"][1]
    inside = sum(totals[k][1] for k in ("row reads from SQLite", "deep copies", "row keys (quote)"))
    accounted = (
        sum(
            totals[k][1]
            for k in ("read the log", "map to events", "views' apply (fold)", "commit rows")
        )
        + totals["reset views"][1]
    )
    rows = [
        ("whole rebuild (wall, with the clocks)", 1, wall),
        ("read the log (select_notifications, 1,000 a query)", *totals["read the log"]),
        ("map to events (envelope_of -> mapper.to_domain_event)", *totals["map to events"]),
        ("views' apply (fold), all below included", *totals["views' apply (fold)"]),
        ("  row reads from SQLite (_SQLiteRows.get)", *totals["row reads from SQLite"]),
        ("    of which JSON decode (orjson.loads)", *totals["JSON decode of rows"]),
        ("  deep copies of documents (copy.deepcopy)", *totals["deep copies"]),
        ("  row keys (urllib quote)", *totals["row keys (quote)"]),
        ("  the views' own logic and overlays (the rest)", 0, fold - inside),
        ("commit rows (commit_views, one transaction a page)", *totals["commit rows"]),
        ("  of which JSON encode (orjson.dumps)", *totals["JSON encode of rows"]),
        ("reset the views (delete old rows)", *totals["reset views"]),
        ("the runner's loop (the rest)", 0, wall - accounted),
    ]
    return {
        "events": events,
        "wall_seconds": wall,
        "parts": [
            {
                "part": label,
                "calls": calls,
                "seconds": seconds,
                "share": seconds / wall,
                "us_per_event": seconds / events * 1e6,
                "calls_per_event": calls / events,
            }
            for label, calls, seconds in rows
        ],
    }


def row_sizes(url: str) -> dict[str, Any]:
    """Per view: rows and JSON bytes; and the counters of the largest summary rows."""
    import sqlite3

    conn = sqlite3.connect(url[len("sqlite:///") :])
    try:
        views = {
            str(view): {"rows": int(n), "json_bytes": int(total), "largest_row_bytes": int(big)}
            for view, n, total, big in conn.execute(
                "SELECT view, count(*), sum(length(doc)), max(length(doc))"
                " FROM rotation_view_rows GROUP BY view"
            )
        }
        summaries: dict[str, Any] = {}
        for view, prefix in (
            ("department_bridges", "department/"),
            ("mentor_engagement", "mentor/"),
        ):
            docs = [
                json.loads(doc)
                for (doc,) in conn.execute(
                    "SELECT doc FROM rotation_view_rows WHERE view = ? AND key >= ? AND key < ?",
                    (view, prefix, prefix[:-1] + "0"),
                )
            ]
            counters = [len(doc.get("counts", {})) for doc in docs] or [0]
            largest: dict[str, Any] = max(
                docs, key=lambda doc: len(doc.get("counts", {})), default={}
            )
            started = time.perf_counter()
            for _ in range(200):
                copy.deepcopy(largest)
            summaries[view] = {
                "rows": len(docs),
                "counters_median": statistics.median(counters),
                "counters_max": max(counters),
                "largest_deepcopy_us": (time.perf_counter() - started) / 200 * 1e6,
            }
    finally:
        conn.close()
    return {"views": views, "summary_rows": summaries}


# Where the time goes: (label, the functions whose cumulative time it is), by file and name.
_PROFILE_PARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("whole rebuild", (("event_consumers.py", "rebuild"),)),
    ("reset_views (delete old rows)", (("consumer_store_sqlite.py", "reset_views"),)),
    (
        "read the log (select_notifications)",
        (("sqlite.py", "select_notifications"), ("sqlite_log_reads.py", "select_notifications")),
    ),
    (
        "map to events (mapper)",
        (("mapper.py", "to_domain_event"), ("mapper.py", "to_domain_event_withholding")),
    ),
    ("views' apply (fold), incl. row reads", (("_base.py", "apply"),)),
    ("  row reads from SQLite (_SQLiteRows.get)", (("consumer_store_sqlite.py", "get"),)),
    ("    of which JSON decode (decode_doc)", (("consumer_stores.py", "decode_doc"),)),
    ("  deep copies of documents (copied)", (("_base.py", "copied"),)),
    ("commit rows (commit_views)", (("consumer_store_sqlite.py", "commit_views"),)),
    ("  of which JSON encode (encode_changes)", (("consumer_stores.py", "encode_changes"),)),
)


def _functions(stats: pstats.Stats) -> dict[tuple[str, str], tuple[int, float, float]]:
    """(file name, function) -> (calls, own seconds, cumulative seconds), summed."""
    found: dict[tuple[str, str], tuple[int, float, float]] = {}
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, calls, own, cumulative, _) in table.items():
        key = (Path(filename).name, name)
        before = found.get(key, (0, 0.0, 0.0))
        found[key] = (before[0] + calls, before[1] + own, before[2] + cumulative)
    return found


def profile_rebuild(url: str, events: int) -> dict[str, Any]:
    """Profile one rebuild of the log at ``url``: the split of its time, and the top."""
    program = open_program(url, inline=False)
    try:
        profiler = cProfile.Profile()
        gc.collect()
        started = time.perf_counter()
        profiler.enable()
        program.rebuild(workers=1)  # the profiler sees this process only
        profiler.disable()
        wall = time.perf_counter() - started
    finally:
        program.close()
    stats = pstats.Stats(profiler)
    functions = _functions(stats)
    whole = functions.get(("event_consumers.py", "rebuild"), (0, 0.0, wall))[2]
    parts = []
    for label, names in _PROFILE_PARTS:
        calls = sum(functions.get(n, (0, 0.0, 0.0))[0] for n in names)
        seconds = sum(functions.get(n, (0, 0.0, 0.0))[2] for n in names)
        parts.append(
            {
                "part": label,
                "calls": calls,
                "seconds": seconds,
                "share": seconds / whole if whole else 0.0,
                "us_per_event": seconds / events * 1e6,
                "calls_per_event": calls / events,
            }
        )
    sqlite_calls = functions.get(("~", "<method 'execute' of 'sqlite3.Connection' objects>"))
    cursor_calls = functions.get(("~", "<method 'execute' of 'sqlite3.Cursor' objects>"))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return {
        "events": events,
        "wall_seconds_profiled": wall,
        "profiled_rebuild_seconds": whole,
        "parts": parts,
        "sqlite_connection_execute": list(sqlite_calls) if sqlite_calls else None,
        "sqlite_cursor_execute": list(cursor_calls) if cursor_calls else None,
        "top_by_own_time": _top(stats, 25),
        "pstats_text": out.getvalue(),
    }


def _top(stats: pstats.Stats, count: int) -> list[dict[str, Any]]:
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:count]
    return [
        {
            "function": f"{Path(filename).name}:{line}({name})",
            "calls": calls,
            "own_seconds": own,
            "cumulative_seconds": cumulative,
        }
        for (filename, line, name), (_, calls, own, cumulative, _) in rows
    ]


# --------------------------------------------------------------------------------------
# The run.


def _stat(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "samples": list(values),
    }


def _source_line(document: dict[str, Any]) -> str:
    start, end = document.get("source", {}), document.get("source_at_end", {})
    changes = ", ".join(start.get("src_changes", [])) or "none"
    line = f"Source: commit {start.get('commit')} (uncommitted changes in src/: {changes})"
    if end and end != start:
        line += f"; at the end of the run: commit {end.get('commit')}"
    return line + "."


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not available
        return "unknown"


def measure(
    events: int, repetitions: int, profile: str, profile_events: int, *, clock: bool = False
) -> dict[str, Any]:
    """Generate both logs, then time rebuilds and baseline scans alternately."""
    kinds = SQLiteStores()
    try:
        with kinds.fresh("views") as program_store, kinds.fresh("bare") as bare_store:
            stats = build_log(program_store.url, events, progress=_progress)
            _progress(
                f"program log: {stats.events:,} events in {stats.seconds:.0f} s "
                f"({stats.events / stats.seconds:,.0f} ev/s, untimed)"
            )
            bare_seconds = write_baseline(bare_store, stats.events)
            _progress(f"baseline log: {stats.events:,} events in {bare_seconds:.0f} s (untimed)")
            rebuilds: list[RebuildSample] = []
            scans: list[float] = []
            ratios: list[float] = []
            one_process: list[RebuildSample] = []
            for rep in range(1, repetitions + 1):
                count, seconds = in_fresh_process(scan_baseline, bare_store)
                if count != stats.events:
                    raise RuntimeError(f"the baseline scanned {count} events, not {stats.events}")
                scans.append(count / seconds)
                _progress(f"[{rep}/{repetitions}] baseline scan: {scans[-1]:,.0f} ev/s")
                sample = in_fresh_process(rebuild_once, program_store.url)
                rebuilds.append(sample)
                _progress(
                    f"[{rep}/{repetitions}] rebuild: {sample.seconds:.1f} s, "
                    f"{sample.rate:,.0f} ev/s ({sample.rows_before:,} rows before, "
                    f"{sample.rows_after:,} after)"
                )
                ratios.append(sample.rate / scans[-1])
                if sample.processes > 1:  # and in one process, for comparison
                    alone = in_fresh_process(rebuild_once, program_store.url, 1)
                    one_process.append(alone)
                    _progress(
                        f"[{rep}/{repetitions}] rebuild in one process: {alone.seconds:.1f} s, "
                        f"{alone.rate:,.0f} ev/s"
                    )
            count, seconds = in_fresh_process(scan_baseline, bare_store)
            scans.append(count / seconds)
            _progress(f"baseline scan: {scans[-1]:,.0f} ev/s")
            ceiling = in_fresh_process(ceiling_once, program_store.url)
            count, seconds = in_fresh_process(scan_baseline, bare_store)
            ceiling_scan = count / seconds
            _progress(
                f"rebuild with views doing nothing: {ceiling.rate:,.0f} ev/s "
                f"(baseline scan after it {ceiling_scan:,.0f} ev/s)"
            )
            program_after = open_program(program_store.url, inline=False)
            try:
                program_after.rebuild()  # the real views again, for the checks below
            finally:
                program_after.close()
            contents = check_contents(program_store.url, stats)
            clocked_full: dict[str, Any] | None = None
            if clock:
                _progress(f"timing the parts of one more rebuild of {stats.events:,} events")
                clocked_full = attribute_rebuild(program_store.url, stats.events)
                clocked_full["rows"] = row_sizes(program_store.url)
            db_bytes = sum(
                Path(f"{program_store.url[len('sqlite:///') :]}{suffix}").stat().st_size
                for suffix in ("", "-wal")
                if Path(f"{program_store.url[len('sqlite:///') :]}{suffix}").exists()
            )
        # Each rebuild against the mean of the scans just before and after it.
        paired = [r.rate / ((scans[i] + scans[i + 1]) / 2) for i, r in enumerate(rebuilds)]
        ratio = statistics.median(paired)
        alone_ratios = [r.rate / ((scans[i] + scans[i + 1]) / 2) for i, r in enumerate(one_process)]
        result: dict[str, Any] = {
            "events": stats.events,
            "log": {
                "rotations": stats.rotations,
                "completed": stats.completed,
                "cancelled": stats.cancelled,
                "events_per_rotation": stats.events / max(1, stats.rotations),
                "topics": stats.topics,
                "generated_seconds": stats.seconds,
                "generated_events_per_second": stats.events / stats.seconds,
                "database_bytes_after": db_bytes,
                "events_the_views_read": rebuilds[0].read_events,
                "view_rows": rebuilds[-1].rows_after,
            },
            "view_totals": contents,
            "baseline_scan_events_per_second": _stat(scans),
            "rebuild_seconds": _stat([r.seconds for r in rebuilds]),
            "rebuild_events_per_second": _stat([r.rate for r in rebuilds]),
            "rebuilds": [asdict(r) for r in rebuilds],
            "ratio": {
                "median": ratio,
                "samples": paired,
                "against_adjacent_scans": True,
                "previous_scan_only": _stat(ratios),
            },
            "target": RATIO_TARGET,
            "met": ratio >= RATIO_TARGET,
            "processes": [r.processes for r in rebuilds],
            "one_process": (
                {
                    "rebuild_seconds": _stat([r.seconds for r in one_process]),
                    "ratio": {"median": statistics.median(alone_ratios), "samples": alone_ratios},
                }
                if one_process
                else None
            ),
            "ceiling": {
                "events_per_second": ceiling.rate,
                "baseline_scans_around": [scans[-1], ceiling_scan],
                "ratio": ceiling.rate / ((scans[-1] + ceiling_scan) / 2),
            },
        }
        if clocked_full is not None:
            result["clocked_full"] = clocked_full
        if profile == "always" or (profile == "auto" and not result["met"]):
            size = profile_events if profile_events > 0 else max(20_000, events // 10)
            with kinds.fresh("profile") as store:
                small = build_log(store.url, size, progress=_progress)
                _progress(f"profiling the rebuild of {small.events:,} events")
                plain = rebuild_once(store.url)  # also warms the file cache and the classes
                result["profile"] = profile_rebuild(store.url, small.events)
                result["profile"]["plain_rebuild_seconds"] = plain.seconds
                result["profile"]["clocked"] = attribute_rebuild(store.url, small.events)
        return result
    finally:
        kinds.close()


def _fmt_rate(stat: dict[str, Any]) -> str:
    return f"{stat['median']:,.0f} (min {stat['min']:,.0f}, max {stat['max']:,.0f})"


def markdown(document: dict[str, Any]) -> str:
    """The run as Markdown tables."""
    r = document["result"]
    m = document["machine"]
    lines = [
        f"## Rebuilding all standard views on SQLite ({document['mode']} mode, "
        f"{r['events']:,} events)",
        "",
        "| what | figure |",
        "|---|---|",
        f"| events in the log | {r['events']:,} ({r['log']['rotations']:,} rotations, "
        f"{r['log']['events_per_rotation']:.1f} events per rotation) |",
        f"| events the five views ask for | {r['log']['events_the_views_read']:,} |",
        f"| view rows after the rebuild | {r['log']['view_rows']:,} |",
        f"| `program.rebuild()` seconds, median | {r['rebuild_seconds']['median']:.1f} "
        f"(samples {', '.join(f'{s:.1f}' for s in r['rebuild_seconds']['samples'])}) |",
        f"| rebuild, events of the log per second | {_fmt_rate(r['rebuild_events_per_second'])} |",
        "| baseline: bare scan + `to_domain_event`, pages of 1,000, ev/s | "
        f"{_fmt_rate(r['baseline_scan_events_per_second'])} |",
        f"| **ratio rebuild / baseline** (median of pairs) | **{r['ratio']['median']:.3f}** "
        f"(samples {', '.join(f'{s:.3f}' for s in r['ratio']['samples'])}) |",
        f"| target | >= {r['target']} : {'met' if r['met'] else '**missed**'} |",
        f"| processes sharing the rebuild (ADR 0017) | "
        f"{', '.join(str(p) for p in r.get('processes', [1]))} |",
    ]
    alone = r.get("one_process")
    if alone:
        lines.append(
            f"| the same rebuild in one process (`workers=1`): seconds, median | "
            f"{alone['rebuild_seconds']['median']:.1f}, ratio **{alone['ratio']['median']:.3f}** "
            f"(samples {', '.join(f'{s:.3f}' for s in alone['ratio']['samples'])}) |"
        )
    ceiling = r.get("ceiling")
    if ceiling:
        lines.append(
            "| the same rebuild with every view's `apply` doing nothing (reading, mapping, "
            f"envelopes, positions), ev/s | {ceiling['events_per_second']:,.0f}, ratio "
            f"**{ceiling['ratio']:.3f}**: the most work on the views alone could reach |"
        )
    lines.append("")
    full = r.get("clocked_full")
    if full:
        lines += [
            f"### Where the time goes at full size (clocks around the parts, one more rebuild "
            f"of the {r['events']:,} events: {full['wall_seconds']:.1f} s)",
            "",
            "| part | seconds | share | us per event | calls per event |",
            "|---|---|---|---|---|",
        ]
        for part in full["parts"]:
            lines.append(
                f"| {part['part']} | {part['seconds']:.2f} | {part['share']:.0%} | "
                f"{part['us_per_event']:.1f} | {part['calls_per_event']:.2f} |"
            )
        for view, row in full["rows"]["summary_rows"].items():
            lines.append(
                f"\n{view} summary rows: {row['rows']}, counters per row median "
                f"{row['counters_median']:.0f}, max {row['counters_max']}; deep copy of the "
                f"largest {row['largest_deepcopy_us']:.0f} us."
            )
        lines.append("")
    profile = r.get("profile")
    if profile:
        lines += [
            f"### Where the rebuild's time goes (cProfile, {profile['events']:,} events; "
            f"profiled rebuild {profile['profiled_rebuild_seconds']:.1f} s)",
            "",
            "| part | seconds | share | us per event | calls per event |",
            "|---|---|---|---|---|",
        ]
        for part in profile["parts"]:
            lines.append(
                f"| {part['part']} | {part['seconds']:.2f} | {part['share']:.0%} | "
                f"{part['us_per_event']:.1f} | {part['calls_per_event']:.2f} |"
            )
        clocked = profile["clocked"]
        lines += [
            "",
            f"The same log with clocks around the parts instead of cProfile (rebuild "
            f"{clocked['wall_seconds']:.2f} s; without any instrument "
            f"{profile['plain_rebuild_seconds']:.2f} s):",
            "",
            "| part | seconds | share | us per event | calls per event |",
            "|---|---|---|---|---|",
        ]
        for part in clocked["parts"]:
            lines.append(
                f"| {part['part']} | {part['seconds']:.2f} | {part['share']:.0%} | "
                f"{part['us_per_event']:.1f} | {part['calls_per_event']:.2f} |"
            )
        lines += ["", "Top functions by own time:", "", "| function | calls | own s | cum s |"]
        lines.append("|---|---|---|---|")
        for row in profile["top_by_own_time"][:15]:
            lines.append(
                f"| `{row['function']}` | {row['calls']:,} | {row['own_seconds']:.2f} | "
                f"{row['cumulative_seconds']:.2f} |"
            )
        lines.append("")
    lines += [
        "Machine: "
        + ", ".join(
            f"{k} {m[k]}"
            for k in ("cpu_model", "cores", "python", "eventsourcing", "sqlite", "platform")
        )
        + f"; load average before {m.get('load_average_before')}, "
        f"after {m.get('load_average_after')}.",
        "",
        _source_line(document),
        "",
    ]
    return "\n".join(lines)


def print_report(document: dict[str, Any]) -> None:
    print(markdown(document))
    profile = document["result"].get("profile")
    if profile:
        print(profile["pstats_text"])


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events")
    parser.add_argument("--events", type=int, help=f"events in the log (full: {FULL_EVENTS:,})")
    parser.add_argument(
        "--repetitions",
        type=int,
        help="rebuilds, each between two baseline scans (full: 1, quick: 3)",
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="profile a rebuild of a smaller log: when the target is missed (auto), always, never",
    )
    parser.add_argument(
        "--profile-events",
        type=int,
        default=0,
        help="events of the profiled log (default: a tenth of the log, at least 20,000)",
    )
    parser.add_argument(
        "--clock",
        action="store_true",
        help="also time the parts of one more rebuild of the whole log, with clocks (one "
        "more rebuild's time), and report the sizes of the view rows",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and the machine, and optionally write JSON and Markdown."""
    args = _arguments(argv)
    plugins = os.environ.setdefault("ROTATION_PLUGINS", PLUGINS)  # read by open_program()
    events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    repetitions = args.repetitions or (3 if args.quick else 1)
    # Taken before measuring: the code measured is imported by then or in the first seconds.
    source_at_start = source_revision()
    load_before = _load_average()
    started = time.perf_counter()
    result = measure(events, repetitions, args.profile, args.profile_events, clock=args.clock)
    machine = machine_info(None)
    machine["load_average_before"] = load_before
    machine["load_average_after"] = _load_average()
    document: dict[str, Any] = {
        "benchmark": "views-rebuild",
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "source": source_at_start,
        "source_at_end": source_revision(),
        "parameters": {
            "events": events,
            "repetitions": repetitions,
            "save_batch": SAVE_BATCH,
            "baseline_batch": BASELINE_BATCH,
            "scan_page": SCAN_PAGE,
            "ROTATION_PLUGINS": plugins,
        },
        "result": result,
        "seconds": time.perf_counter() - started,
    }
    print_report(document)
    print(f"{document['seconds']:.0f} s in all")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
        print(f"results written to {args.json}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(document))
        print(f"tables written to {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
