"""Domain commands per second through `open_program()`: each kind alone, and a rotation's life.

Every repetition uses a fresh store with the same seeded company (untimed), runs one
whole rotation life untimed to warm the mapper and the cache, then times commands.

* ``kinds``: the lives' commands run step by step (every plan, then every
  nomination, ...), each command timed on its own, so each kind gets its own rate.
* ``mix``: the same number of lives run one after the other, each life's 17
  commands in order; the whole loop is timed.
* ``interleaved``: the same, but after each life the bare library saves 17 `Tick`
  aggregates on a store of its own, also timed, so both rates are measured within
  milliseconds of each other: on a machine whose speed drifts between runs minutes
  apart, their ratio moves much less than the mix's ratio to a baseline measured
  before it.

``mix`` and ``interleaved`` also run with ``views=False``: the program opened without
the default views plugin, so no view is folded after each command (the domain core
alone, as a host that installs no view gets it).
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from bench.isolation import BaselineSaver
from bench.seeding import BulkSeeder, Company
from bench.stores import FreshStore
from rotation_domain import RotationProgram, open_program

__all__ = [
    "KINDS",
    "LIFE_MIX",
    "InterleavedSample",
    "KindSample",
    "Life",
    "MixSample",
    "measure_interleaved",
    "measure_kinds",
    "measure_mix",
    "prepare",
]

ACTOR = "bench@example.com"
VIEWS_PLUGIN = "default_views"
"""The plugin that folds the five standard views after each command."""
HOSTS = 10
MENTORS_PER_HOST = 3
SESSIONS_PER_LIFE = 6
OBSERVATIONS_PER_LIFE = 3
SESSION_KINDS = ("discussion", "reading", "hands-on")
POLICY: dict[str, int | bool] = {
    "max_length_days": 31,
    "max_concurrent": 100_000,
    "max_guests_per_department": 100_000,
    "max_mentees_per_mentor": 100_000,
}

KINDS = (
    "plan_rotation",
    "nominate_mentor",
    "accept_mentorship",
    "brief_mentor",
    "start_rotation",
    "hold_mentor_session",
    "record_observation",
    "propose_improvement",
    "adopt_improvement",
    "complete_rotation",
)
LIFE_MIX = {
    "plan_rotation": 1,
    "nominate_mentor": 1,
    "accept_mentorship": 1,
    "brief_mentor": 1,
    "start_rotation": 1,
    "hold_mentor_session": SESSIONS_PER_LIFE,
    "record_observation": OBSERVATIONS_PER_LIFE,
    "propose_improvement": 1,
    "adopt_improvement": 1,
    "complete_rotation": 1,
}
"""The commands of one rotation's whole life: 17 in all."""


@dataclass
class Life:
    """One rotation from plan to completion, and the ids its commands returned."""

    participant: str
    host: str
    mentor: str
    start: date
    end: date
    rotation: UUID | None = None
    mentorship: UUID | None = None
    improvement: UUID | None = None

    def steps(self, program: RotationProgram) -> list[tuple[str, Callable[[], object]]]:
        """The life's commands in order, as (kind, call) pairs."""

        def plan() -> None:
            self.rotation = program.plan_rotation(
                self.participant, host_department=self.host, start=self.start, end=self.end
            )

        def nominate() -> None:
            assert self.rotation is not None
            self.mentorship = program.nominate_mentor(self.rotation, mentor=self.mentor)

        def propose() -> None:
            assert self.rotation is not None
            self.improvement = program.propose_improvement(
                self.rotation,
                title=f"Automate a report of {self.host}",
                description="A script replaces a weekly manual export.",
                on=self.start + timedelta(days=3),
            )

        def session(n: int) -> Callable[[], None]:
            return lambda: program.hold_mentor_session(
                self._mentorship(),
                kind=SESSION_KINDS[n % len(SESSION_KINDS)],
                on=self.start + timedelta(days=n),
                topic=f"Session {n + 1}: how {self.host} works",
            )

        def observation(n: int) -> Callable[[], None]:
            return lambda: program.record_observation(
                self._rotation(),
                f"Observation {n + 1}: a manual step IT could automate",
                on=self.start + timedelta(days=n),
            )

        return [
            ("plan_rotation", plan),
            ("nominate_mentor", nominate),
            ("accept_mentorship", lambda: program.accept_mentorship(self._mentorship())),
            ("brief_mentor", lambda: program.brief_mentor(self._mentorship(), on=self.start)),
            ("start_rotation", lambda: program.start_rotation(self._rotation(), on=self.start)),
            *(("hold_mentor_session", session(n)) for n in range(SESSIONS_PER_LIFE)),
            *(("record_observation", observation(n)) for n in range(OBSERVATIONS_PER_LIFE)),
            ("propose_improvement", propose),
            (
                "adopt_improvement",
                lambda: program.adopt_improvement(
                    self._improvement(), on=self.start + timedelta(days=4)
                ),
            ),
            ("complete_rotation", lambda: program.complete_rotation(self._rotation(), on=self.end)),
        ]

    def _rotation(self) -> UUID:
        assert self.rotation is not None
        return self.rotation

    def _mentorship(self) -> UUID:
        assert self.mentorship is not None
        return self.mentorship

    def _improvement(self) -> UUID:
        assert self.improvement is not None
        return self.improvement


def _lives(company: Company, count: int) -> list[Life]:
    """``count`` rotations spread over the twelve months of 2027, 21 days each.

    Starts fall on days 1-20 of their month, so about half of the windows also
    touch the next month's roster, as real ones do.
    """
    lives = []
    for n in range(count):
        host = company.hosts[n % len(company.hosts)]
        mentors = company.mentors[host]
        start = date(2027, n % 12 + 1, 1 + (n * 7) % 20)
        lives.append(
            Life(
                participant=company.staff[n],
                host=host,
                mentor=mentors[(n // len(company.hosts)) % len(mentors)],
                start=start,
                end=start + timedelta(days=20),
            )
        )
    return lives


@contextlib.contextmanager
def _views(enabled: bool) -> Iterator[None]:
    """While the program opens: the default views plugin as configured, or disabled."""
    if enabled:
        yield
        return
    name = "ROTATION_DISABLE_PLUGINS"
    before = os.environ.get(name)
    os.environ[name] = ",".join(filter(None, [before, VIEWS_PLUGIN]))
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def prepare(
    store: FreshStore,
    lives: int,
    settings: dict[str, str] | None = None,
    *,
    views: bool = True,
) -> tuple[RotationProgram, list[Life]]:
    """Seed the company (untimed), open the program and run one warm-up life.

    With ``views=False`` the program opens without the default views plugin.
    """
    company = Company(it_staff=lives + 1, hosts=HOSTS, mentors_per_host=MENTORS_PER_HOST)
    seeder = BulkSeeder(store.url)
    try:
        company.seed(seeder, POLICY)
    finally:
        seeder.close()
    with _views(views):
        program = open_program(store.url, today=lambda: date(2027, 1, 1), settings=settings)
    every = _lives(company, lives + 1)
    with program.acting_as(ACTOR):
        for _, call in every[-1].steps(program):
            call()
    return program, every[:-1]


def _events(program: RotationProgram) -> int:
    return program.app.recorder.max_notification_id() or 0


@dataclass
class KindSample:
    """One repetition of ``kinds``: per kind, the commands' durations and events written."""

    durations: dict[str, list[float]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


@dataclass
class MixSample:
    """One repetition of ``mix``: commands, seconds and events of the whole loop."""

    commands: int
    seconds: float
    events: int


def measure_kinds(
    store: FreshStore, lives: int, settings: dict[str, str] | None = None
) -> KindSample:
    """Time every command of ``lives`` rotations, run kind by kind."""
    program, every = prepare(store, lives, settings)
    sample = KindSample()
    try:
        plans = [life.steps(program) for life in every]
        with program.acting_as(ACTOR):
            for position in range(len(plans[0])):
                kind = plans[0][position][0]
                durations = sample.durations.setdefault(kind, [])
                gc.collect()
                before = _events(program)
                for steps in plans:
                    call = steps[position][1]
                    started = time.perf_counter()
                    call()
                    durations.append(time.perf_counter() - started)
                sample.events[kind] = sample.events.get(kind, 0) + _events(program) - before
    finally:
        program.close()
    return sample


def measure_mix(
    store: FreshStore,
    lives: int,
    settings: dict[str, str] | None = None,
    *,
    views: bool = True,
) -> MixSample:
    """Time ``lives`` whole rotation lives run one after the other (``views``: see `prepare`)."""
    program, every = prepare(store, lives, settings, views=views)
    try:
        calls = [call for life in every for _, call in life.steps(program)]
        with program.acting_as(ACTOR):
            gc.collect()
            before = _events(program)
            started = time.perf_counter()
            for call in calls:
                call()
            seconds = time.perf_counter() - started
            events = _events(program) - before
    finally:
        program.close()
    return MixSample(commands=len(calls), seconds=seconds, events=events)


@dataclass
class InterleavedSample:
    """One repetition of ``interleaved``: the lives' and the baseline's counts and seconds."""

    commands: int
    command_seconds: float
    saves: int
    save_seconds: float

    @property
    def ratio(self) -> float:
        """Commands per second over the baseline's saves per second."""
        return (self.commands / self.command_seconds) / (self.saves / self.save_seconds)


def measure_interleaved(
    store: FreshStore,
    baseline_store: FreshStore,
    lives: int,
    settings: dict[str, str] | None = None,
    *,
    views: bool = True,
) -> InterleavedSample:
    """Time ``lives`` lives, each followed by as many bare saves as it has commands.

    ``views``: see `prepare`.

    The bare saves run in a process of their own (`bench.isolation.BaselineSaver`), which
    warms up as `baseline_saves_per_second` does, while this one waits.
    """
    program, every = prepare(store, lives, settings, views=views)
    baseline = BaselineSaver(baseline_store)
    try:
        sample = InterleavedSample(0, 0.0, 0, 0.0)
        with program.acting_as(ACTOR):
            gc.collect()
            for life in every:
                calls = [call for _, call in life.steps(program)]
                started = time.perf_counter()
                for call in calls:
                    call()
                sample.command_seconds += time.perf_counter() - started
                sample.commands += len(calls)
                sample.save_seconds += baseline.saves(len(calls))
                sample.saves += len(calls)
    finally:
        baseline.close()
        program.close()
    return sample
