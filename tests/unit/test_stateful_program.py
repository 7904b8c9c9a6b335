"""Random command sequences, driven through the public API, keep every rule of the program.

A hypothesis state machine plans, moves, mentors, starts, completes and cancels rotations,
changes the policy (tightening it as well as loosening it) and lets people leave or move,
in any order. Many commands are refused; a refused command must raise a
`RotationDomainError` (anything else is a bug) and record nothing.

Besides the invariants checked after every step, each command is checked against what
the rules say it should do: the model predicts, from the aggregates, whether the command
must succeed or must be refused (R1, R2, R4-R10, the order of states), so a command that
is wrongly accepted or wrongly refused fails the machine too.

The caps of R9 may be tightened while rotations hold places; those keep their places.
The model therefore remembers, for each rotation, the policy in force when it last took
its place on its days (planned or rescheduled) and when it last took a mentor's place
(planned, rescheduled or given a mentor). On any day, the rotation that took its place
there most recently was admitted while every other rotation of that day already held
its place, so the day's count is bounded by the cap of that rotation's policy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import attrs
import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from rotation_domain import (
    DateRange,
    Department,
    Employee,
    Improvement,
    ImprovementStatus,
    Mentorship,
    MentorshipStatus,
    MonthRoster,
    Policy,
    Program,
    Rotation,
    RotationDomainError,
    RotationProgram,
    RotationStatus,
    SessionKind,
    UnknownId,
    open_program,
)
from rotation_domain.employee import Assignment, Role
from rotation_domain.plugin_manager import DEFAULT_PLUGINS
from rotation_domain.program import PROGRAM_ID
from rotation_domain.roster import months_of

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

ACTOR = "cio@example.com"
TODAY = date(2027, 1, 1)
FIRST_START = date(2027, 1, 4)
FULL_RELOAD_EVERY = 5  # steps between two reloads of every aggregate
START_SPREAD_DAYS = 90  # rotations start within about three months of 2027
MAX_LENGTH = 40  # longer than the default 31 days, so R2 refuses some plans
# Every month a rotation of this machine can touch, and a month on either side.
MONTHS = tuple(
    f"{year}-{month:02d}" for year, month in [(2026, 12)] + [(2027, m) for m in range(1, 8)]
)

IS_IT = {"IT": True, "ITOPS": True, "FIN": False, "OPS": False, "HR": False}
HOME = {
    "E1": "IT",
    "E2": "IT",
    "E3": "IT",
    "E4": "ITOPS",
    "E5": "ITOPS",
    "M1": "FIN",
    "M2": "FIN",
    "M3": "OPS",
    "M4": "OPS",
    "M5": "HR",
}
EVERYONE = tuple(HOME)
HOSTS = tuple(d for d, is_it in IS_IT.items() if not is_it)
OPEN_ROTATION = (RotationStatus.PLANNED, RotationStatus.IN_PROGRESS)
OPEN_MENTORSHIP = (MentorshipStatus.NOMINATED, MentorshipStatus.AGREED)
# A mentor holds a mentee's place (R9) while the mentorship is open, and after it concluded.
BOOKED_MENTORSHIP = (*OPEN_MENTORSHIP, MentorshipStatus.CONCLUDED)
AGREED_AT_START = (
    MentorshipStatus.AGREED,
    MentorshipStatus.CONCLUDED,
    MentorshipStatus.RELEASED,
)
# The policy's numbers, small so the caps bite (and often tightened below what rotations
# already hold); a mentee cap of 0 is invalid and must be refused.
POLICY_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "max_length_days": st.integers(20, MAX_LENGTH),
        "max_concurrent": st.integers(1, 4),
        "max_guests_per_department": st.integers(1, 2),
        "max_mentees_per_mentor": st.integers(0, 2),
        "require_briefing": st.booleans(),
    },
)
# Starts within about three months, often in the first three weeks, and lengths often of
# a couple of weeks or more, so that rotations overlap and the caps of R9 bite.
starts = st.one_of(st.integers(0, 20), st.integers(0, START_SPREAD_DAYS - 1)).map(
    lambda n: FIRST_START + timedelta(days=n)
)
lengths = st.one_of(st.integers(10, 31), st.integers(1, MAX_LENGTH))


def seed_company(program: RotationProgram) -> None:
    """Two IT departments, three host departments, five IT staff and five host staff."""
    with program.acting_as(ACTOR):
        for code, is_it in IS_IT.items():
            program.register_department(code, name=f"Department {code}", is_it=is_it)
        for code, department in HOME.items():
            program.register_employee(
                code,
                name=f"Person {code}",
                email=f"{code.lower()}@example.com",
                department=department,
            )
        program.set_policy(
            max_length_days=31,
            max_concurrent=3,
            max_guests_per_department=1,
            max_mentees_per_mentor=1,
        )


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """Everything an aggregate is, except the events it has not saved yet."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@attrs.frozen
class Admission:
    """When a rotation took a place in the rosters (a step of the machine), and the policy then."""

    step: int
    policy: Policy


@attrs.frozen
class World:
    """The aggregates as they are after a step, loaded through `RotationProgram.get`."""

    rotations: dict[UUID, Rotation]
    mentorships: dict[UUID, Mentorship]
    improvements: dict[UUID, Improvement]
    employees: dict[str, Employee]
    rosters: dict[str, MonthRoster]
    program: Program

    @property
    def policy(self) -> Policy:
        """The policy in force."""
        return self.program.policy

    def by_id(self) -> dict[UUID, Aggregate]:
        """Every aggregate of the world, by id."""
        found: dict[UUID, Aggregate] = {self.program.id: self.program}
        for group in (self.rotations, self.mentorships, self.improvements):
            found.update(group)
        found.update((a.id, a) for a in self.employees.values())
        found.update((a.id, a) for a in self.rosters.values())
        return found

    def booked_mentor(self, rotation: Rotation) -> str | None:
        """The mentor whose place the rotation should hold (R9), if any."""
        if rotation.mentorship_id is None:
            return None
        mentorship = self.mentorships[rotation.mentorship_id]
        return mentorship.mentor if mentorship.status in BOOKED_MENTORSHIP else None

    def holding_places(self) -> list[Rotation]:
        """The rotations that hold their places: every one not cancelled."""
        return [r for r in self.rotations.values() if r.status is not RotationStatus.CANCELLED]

    def days_away(self) -> dict[date, list[Rotation]]:
        """For each day, the rotations that hold a place on it."""
        days: dict[date, list[Rotation]] = {}
        for rotation in self.holding_places():
            for day in rotation.period.days():
                days.setdefault(day, []).append(rotation)
        return days

    def live_improvements(self, rotation: Rotation, *, besides: UUID | None = None) -> int:
        """How many of the rotation's improvements count as payback (R8)."""
        return sum(
            1
            for i in rotation.improvement_ids
            if i != besides and self.improvements[i].status is not ImprovementStatus.WITHDRAWN
        )

    def r9_breach(
        self,
        rotation_id: UUID | None,
        participant: str,
        host: str,
        period: DateRange,
        mentor: str | None,
        *,
        mentor_only: bool = False,
    ) -> str | None:
        """Why R9 refuses this place under the current policy, or None if it allows it."""
        policy = self.policy
        others = [
            r for r in self.holding_places() if r.id != rotation_id and r.period.overlaps(period)
        ]
        if not mentor_only:
            for other in others:
                if other.participant == participant:
                    return f"{participant} is already away on {other.id} ({other.period})"
        for day in period.days():
            on_day = [r for r in others if day in r.period]
            if not mentor_only and len(on_day) >= policy.max_concurrent:
                return f"{len(on_day)} away on {day}, cap {policy.max_concurrent}"
            guests = sum(1 for r in on_day if r.host_department == host)
            if not mentor_only and guests >= policy.max_guests_per_department:
                return f"{guests} guests in {host} on {day}, cap {policy.max_guests_per_department}"
            mentees = sum(1 for r in on_day if mentor and self.booked_mentor(r) == mentor)
            if mentees >= policy.max_mentees_per_mentor:
                return (
                    f"{mentor} has {mentees} mentees on {day}, cap {policy.max_mentees_per_mentor}"
                )
        return None


@attrs.frozen
class Choice:
    """How a rule picks what it acts on.

    Mostly something in a state the command accepts (so rotations get as far as
    completion), sometimes anything the machine knows (so refusals happen too).
    """

    anything: bool
    pick: int

    def of(self, everything: Sequence[T], fitting: Sequence[T]) -> T:
        pool = everything if self.anything or not fitting else fitting
        return pool[self.pick % len(pool)]


def choices(anything_percent: int) -> st.SearchStrategy[Choice]:
    """Choices that pick anything in about ``anything_percent`` % of draws."""
    return st.builds(
        Choice,
        # Hypothesis favours small numbers: "fitting" is the small, simple end.
        anything=st.integers(0, 99).map(lambda n: n >= 100 - anything_percent),
        pick=st.integers(0, 999),
    )


usually_fitting = choices(20)
often_anything = choices(60)


class ProgramMachine(RuleBasedStateMachine):
    """Drives a `RotationProgram` on ``memory:``; subclasses choose another store."""

    def __init__(self) -> None:
        super().__init__()
        self.program = self.open_store()
        # Snapshot the aggregates the application snapshots, but every 3 events rather
        # than every 50, so short runs replay from snapshots too.
        self.program.app.snapshotting_intervals = dict.fromkeys(
            type(self.program.app).snapshotting_intervals, 3
        )
        seed_company(self.program)
        self.step = 0
        self.rotation_ids: list[UUID] = []
        self.mentorship_ids: list[UUID] = []
        self.improvement_ids: list[UUID] = []
        self.window_admissions: dict[UUID, Admission] = {}
        self.mentor_admissions: dict[UUID, Admission] = {}
        self.length_caps: dict[UUID, int] = {}
        self.started_with: dict[UUID, UUID] = {}
        self.departures = 0
        self.transfers = 0
        self.policy_changes = 0
        self.log_position = 0  # the last notification the model has read
        self.unverified: set[UUID] = set()  # recorded events, not yet replayed
        self.verified: dict[UUID, dict[str, Any]] = {}
        self.fully_reloaded = True
        self._world: tuple[int, World] | None = None

    def open_store(self) -> RotationProgram:
        return open_program("memory:", today=lambda: TODAY)

    def rebuilt_elsewhere(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate as another reader of the same store sees it (None: no such reader)."""
        return None

    def teardown(self) -> None:
        try:
            self.views_folded_command_by_command_equal_a_rebuild_from_zero()
        finally:
            self.program.close()

    def views_folded_command_by_command_equal_a_rebuild_from_zero(self) -> None:
        """The standard views, folded after each command, hold what a replay of the log gives.

        Whatever the order of the commands, refused ones included: the views' rows do not
        depend on the order in which events of different aggregates arrived.
        """
        consumers = self.program.consumers
        consumers.commit_views()
        store = consumers.store
        failing = {name: store.failures(name) for name in consumers.views}
        assert not any(failing.values()), f"views with failing events: {failing}"
        folded = {name: dict(store.reader(name).scan()) for name in consumers.views}
        self.program.rebuild()
        rebuilt = {name: dict(store.reader(name).scan()) for name in consumers.views}
        for name in sorted(folded):
            assert folded[name] == rebuilt[name], f"view {name} differs from its rebuild"

    # -- the model -----------------------------------------------------------------------

    def _get(self, cls: type[A], aggregate_id: UUID) -> A:
        found = self.program.get(aggregate_id)
        assert isinstance(found, cls), f"{aggregate_id} is a {type(found).__name__}"
        return found

    def world(self) -> World:
        """The aggregates after the last step, loaded once per step.

        Only the aggregates that recorded events since the last load are read again
        (the store's log says which), except every `FULL_RELOAD_EVERY` steps, when all
        are, so that the replay invariant can check that what recorded nothing (refused
        commands included) still reads as it was verified.
        """
        if self._world is not None and self._world[0] == self.step:
            return self._world[1]
        touched = self._touched_since_last_load()
        self.unverified |= touched
        before = self._world[1] if self._world is not None else None
        self.fully_reloaded = before is None or self.step % FULL_RELOAD_EVERY == 0

        def load(cls: type[A], aggregate_id: UUID, old: dict[UUID, A]) -> A:
            if self.fully_reloaded or aggregate_id in touched or aggregate_id not in old:
                return self._get(cls, aggregate_id)
            return old[aggregate_id]

        old: dict[UUID, Any] = before.by_id() if before is not None else {}
        rotations = {i: load(Rotation, i, old) for i in self.rotation_ids}
        mentorships = {i: load(Mentorship, i, old) for i in self.mentorship_ids}
        for rotation in rotations.values():
            linked = rotation.mentorship_id
            assert linked is None or linked in mentorships, f"unknown mentorship {linked}"
        improvements = {i: load(Improvement, i, old) for i in self.improvement_ids}
        employees = {c: load(Employee, Employee.id_for(c), old) for c in EVERYONE}
        rosters = {}
        for month in MONTHS:
            roster_id = MonthRoster.id_for(month)
            if roster_id in old or roster_id in touched or self.fully_reloaded:
                try:
                    rosters[month] = load(MonthRoster, roster_id, old)
                except UnknownId:
                    assert roster_id not in touched, f"roster {month} cannot be loaded"
        program = load(Program, PROGRAM_ID, old)
        world = World(rotations, mentorships, improvements, employees, rosters, program)
        self._world = (self.step, world)
        return world

    def _touched_since_last_load(self) -> set[UUID]:
        """The aggregates that recorded events since the last load, from the store's log."""
        touched: set[UUID] = set()
        while True:
            notifications = self.program.app.recorder.select_notifications(
                start=self.log_position + 1, limit=500
            )
            if not notifications:
                return touched
            touched.update(UUID(str(n.originator_id)) for n in notifications)
            self.log_position = notifications[-1].id

    def _recorded(self) -> int:
        return self.program.app.recorder.max_notification_id() or 0

    def attempt(
        self, name: str, command: Callable[[], Any], *, refusal: str | None
    ) -> tuple[bool, Any]:
        """Run a command the model expects to succeed (``refusal`` None) or to be refused.

        A refusal must be a `RotationDomainError` (any other exception fails the test)
        and must record nothing.
        """
        self.step += 1
        before = self._recorded()
        try:
            result = command()
        except RotationDomainError as error:
            refused: RotationDomainError | None = error
        else:
            refused = None
        after = self._recorded()
        if refused is not None:
            why = f"{type(refused).__name__}: {refused}"
            assert after == before, f"{name} was refused ({why}) but recorded {after - before}"
            assert refusal is not None, f"{name} was refused ({why}); every rule allows it"
            event(f"{name}: refused with {type(refused).__name__}")
            return False, None
        assert refusal is None, f"{name} succeeded although {refusal}"
        event(f"{name}: done")
        return True, result

    def _admit(self, rotation_id: UUID, policy: Policy, *, window: bool) -> None:
        if window:
            self.window_admissions[rotation_id] = Admission(self.step, policy)
            self.length_caps[rotation_id] = policy.max_length_days
        self.mentor_admissions[rotation_id] = Admission(self.step, policy)

    def _current(self, rotation: Rotation) -> Mentorship | None:
        linked = rotation.mentorship_id
        return self.world().mentorships[linked] if linked else None

    def _needs_mentor(self, rotation: Rotation) -> bool:
        mentorship = self._current(rotation)
        return rotation.status in OPEN_ROTATION and (
            mentorship is None or mentorship.status not in OPEN_MENTORSHIP
        )

    def _host_staff(self, rotation: Rotation) -> list[str]:
        employees = self.world().employees
        return [c for c in EVERYONE if employees[c].department == rotation.host_department]

    def _rotation(self, choice: Choice, fits: Callable[[Rotation], bool]) -> Rotation:
        everything = list(self.world().rotations.values())
        return choice.of(everything, [r for r in everything if fits(r)])

    def _mentorship(self, choice: Choice, fits: Callable[[Mentorship], bool]) -> Mentorship:
        everything = list(self.world().mentorships.values())
        return choice.of(everything, [m for m in everything if fits(m)])

    def _improvement(self, choice: Choice) -> Improvement:
        everything = list(self.world().improvements.values())
        proposed = [i for i in everything if i.status is ImprovementStatus.PROPOSED]
        return choice.of(everything, proposed)

    # -- the commands, each with what the rules say it must do ---------------------------

    def do_plan(self, employee: str, host: str, period: DateRange) -> None:
        world = self.world()
        person, policy = world.employees[employee], world.policy
        if not person.active:
            refusal: str | None = f"{employee} has departed"
        elif not IS_IT[person.department]:
            refusal = f"{employee} works in {person.department}, not IT (R1)"
        elif IS_IT[host]:
            refusal = f"{host} is an IT department (R1)"
        elif period.length_days > policy.max_length_days:
            refusal = f"{period} is longer than {policy.max_length_days} days (R2)"
        else:
            refusal = world.r9_breach(None, employee, host, period, None)
        ok, rotation_id = self.attempt(
            "plan_rotation",
            lambda: self.program.plan_rotation(
                employee, host_department=host, start=period.start, end=period.end, actor=ACTOR
            ),
            refusal=refusal,
        )
        if ok:
            self.rotation_ids.append(rotation_id)
            self._admit(rotation_id, policy, window=True)

    def do_reschedule(self, found: Rotation, period: DateRange) -> None:
        world = self.world()
        policy = world.policy
        if found.status not in OPEN_ROTATION:
            refusal: str | None = f"the rotation is {found.status}"
        elif found.status is RotationStatus.IN_PROGRESS and period.start != found.period.start:
            refusal = "a rotation in progress keeps its start"
        elif period.length_days > policy.max_length_days:
            refusal = f"{period} is longer than {policy.max_length_days} days (R2)"
        else:
            mentor = world.booked_mentor(found)
            refusal = world.r9_breach(
                found.id, found.participant, found.host_department, period, mentor
            )
        ok, _ = self.attempt(
            "reschedule_rotation",
            lambda: self.program.reschedule_rotation(
                found.id, start=period.start, end=period.end, actor=ACTOR
            ),
            refusal=refusal,
        )
        if ok:
            self._admit(found.id, policy, window=True)

    def do_start(self, found: Rotation, day: date) -> None:
        world = self.world()
        mentorship = self._current(found)
        if found.status is not RotationStatus.PLANNED:
            refusal: str | None = f"the rotation is {found.status}"
        elif day not in found.period:
            refusal = f"{day} is outside {found.period}"
        elif mentorship is None or mentorship.status is not MentorshipStatus.AGREED:
            refusal = "no mentor has agreed (R4)"
        elif world.policy.require_briefing and mentorship.briefed_on is None:
            refusal = "the policy requires a briefed mentor (R5)"
        else:
            refusal = None
        ok, _ = self.attempt(
            "start_rotation",
            lambda: self.program.start_rotation(found.id, on=day, actor=ACTOR),
            refusal=refusal,
        )
        if ok:
            assert mentorship is not None
            self.started_with[found.id] = mentorship.id

    def do_observe(self, found: Rotation, day: date | None) -> None:
        if found.status is not RotationStatus.IN_PROGRESS:
            refusal: str | None = f"the rotation is {found.status}"
        elif day is not None and day not in found.period:
            refusal = f"{day} is outside {found.period} (R6)"
        elif day is not None and found.started_on is not None and day < found.started_on:
            refusal = f"{day} is before the arrival on {found.started_on} (R6)"
        else:
            refusal = None
        self.attempt(
            "record_observation",
            lambda: self.program.record_observation(
                found.id, "Invoices are re-keyed by hand", on=day, actor=ACTOR
            ),
            refusal=refusal,
        )

    def do_complete(self, found: Rotation, day: date) -> None:
        if found.status is not RotationStatus.IN_PROGRESS:
            refusal: str | None = f"the rotation is {found.status}"
        elif found.started_on is not None and day < found.started_on:
            refusal = f"{day} is before the start {found.started_on}"
        elif self.world().live_improvements(found) < 1:
            refusal = "no improvement is proposed and not withdrawn (R8)"
        else:
            refusal = None
        self.attempt(
            "complete_rotation",
            lambda: self.program.complete_rotation(found.id, on=day, actor=ACTOR),
            refusal=refusal,
        )

    def do_cancel(self, found: Rotation) -> None:
        refusal = None if found.status in OPEN_ROTATION else f"the rotation is {found.status}"
        self.attempt(
            "cancel_rotation",
            lambda: self.program.cancel_rotation(found.id, reason="plans changed", actor=ACTOR),
            refusal=refusal,
        )

    def do_nominate(self, found: Rotation, mentor: str) -> None:
        world = self.world()
        person, mentorship = world.employees[mentor], self._current(found)
        if found.status not in OPEN_ROTATION:
            refusal: str | None = f"the rotation is {found.status}"
        elif mentorship is not None and mentorship.status in OPEN_MENTORSHIP:
            refusal = f"mentor {mentorship.mentor} is still {mentorship.status}"
        elif not person.active:
            refusal = f"{mentor} has departed"
        elif person.department != found.host_department:
            refusal = f"{mentor} works in {person.department}, not {found.host_department} (R4)"
        else:
            # The rotation already holds its places: only the mentor's cap is checked.
            refusal = world.r9_breach(
                found.id,
                found.participant,
                found.host_department,
                found.period,
                mentor,
                mentor_only=True,
            )
        ok, mentorship_id = self.attempt(
            "nominate_mentor",
            lambda: self.program.nominate_mentor(found.id, mentor=mentor, actor=ACTOR),
            refusal=refusal,
        )
        if ok:
            self.mentorship_ids.append(mentorship_id)
            self._admit(found.id, world.policy, window=False)

    def do_accept(self, found: Mentorship) -> None:
        nominated = found.status is MentorshipStatus.NOMINATED
        self.attempt(
            "accept_mentorship",
            lambda: self.program.accept_mentorship(found.id, actor=ACTOR),
            refusal=None if nominated else f"the mentorship is {found.status}",
        )

    def do_decline(self, found: Mentorship) -> None:
        nominated = found.status is MentorshipStatus.NOMINATED
        self.attempt(
            "decline_mentorship",
            lambda: self.program.decline_mentorship(found.id, reason="too busy", actor=ACTOR),
            refusal=None if nominated else f"the mentorship is {found.status}",
        )

    def do_brief(self, found: Mentorship, day: date) -> None:
        is_open = found.status in OPEN_MENTORSHIP
        self.attempt(
            "brief_mentor",
            lambda: self.program.brief_mentor(found.id, on=day, actor=ACTOR),
            refusal=None if is_open else f"the mentorship is {found.status}",
        )

    def do_session(self, found: Mentorship, kind: SessionKind, day: date) -> None:
        rotation = self.world().rotations[found.rotation_id]
        if found.status is not MentorshipStatus.AGREED:
            refusal: str | None = f"the mentorship is {found.status}"
        elif rotation.status not in (RotationStatus.IN_PROGRESS, RotationStatus.COMPLETED):
            refusal = f"the rotation is {rotation.status}"
        elif day not in rotation.period:
            refusal = f"{day} is outside {rotation.period} (R6)"
        elif rotation.started_on is not None and day < rotation.started_on:
            refusal = f"{day} is before the arrival on {rotation.started_on} (R6)"
        else:
            refusal = None
        self.attempt(
            "hold_mentor_session",
            lambda: self.program.hold_mentor_session(
                found.id, kind=kind, on=day, topic="How month-end close works", actor=ACTOR
            ),
            refusal=refusal,
        )

    def do_conclude(self, found: Mentorship) -> None:
        rotation = self.world().rotations[found.rotation_id]
        if found.status is not MentorshipStatus.AGREED:
            refusal: str | None = f"the mentorship is {found.status}"
        elif rotation.status is not RotationStatus.COMPLETED:
            refusal = f"the rotation is {rotation.status}"
        else:
            refusal = None
        self.attempt(
            "conclude_mentorship",
            lambda: self.program.conclude_mentorship(found.id, feedback="Great", actor=ACTOR),
            refusal=refusal,
        )

    def do_propose(self, found: Rotation, day: date | None) -> None:
        proposable = (RotationStatus.IN_PROGRESS, RotationStatus.COMPLETED)
        refusal = None if found.status in proposable else f"the rotation is {found.status}"
        ok, improvement_id = self.attempt(
            "propose_improvement",
            lambda: self.program.propose_improvement(
                found.id, title="Route invoices automatically", on=day, actor=ACTOR
            ),
            refusal=refusal,
        )
        if ok:
            self.improvement_ids.append(improvement_id)

    def do_adopt(self, found: Improvement, day: date) -> None:
        if found.status is not ImprovementStatus.PROPOSED:
            refusal: str | None = f"the improvement is {found.status}"
        elif found.proposed_on is not None and day < found.proposed_on:
            refusal = f"{day} is before the proposal on {found.proposed_on}"
        else:
            refusal = None
        self.attempt(
            "adopt_improvement",
            lambda: self.program.adopt_improvement(found.id, on=day, actor=ACTOR),
            refusal=refusal,
        )

    def do_reject(self, found: Improvement) -> None:
        proposed = found.status is ImprovementStatus.PROPOSED
        self.attempt(
            "reject_improvement",
            lambda: self.program.reject_improvement(found.id, reason="no budget", actor=ACTOR),
            refusal=None if proposed else f"the improvement is {found.status}",
        )

    def do_withdraw(self, found: Improvement) -> None:
        world = self.world()
        rotation = world.rotations[found.rotation_id]
        if found.status is not ImprovementStatus.PROPOSED:
            refusal: str | None = f"the improvement is {found.status}"
        elif (
            rotation.status is RotationStatus.COMPLETED
            and world.live_improvements(rotation, besides=found.id) < 1
        ):
            refusal = "it is the only payback of a completed rotation (R8)"
        else:
            refusal = None
        self.attempt(
            "withdraw_improvement",
            lambda: self.program.withdraw_improvement(found.id, actor=ACTOR),
            refusal=refusal,
        )

    # -- rules: rotations ----------------------------------------------------------------

    @initialize(
        plans=st.lists(
            st.tuples(usually_fitting, usually_fitting, starts, lengths), min_size=0, max_size=4
        )
    )
    def plan_some_rotations(self, plans: list[tuple[Choice, Choice, date, int]]) -> None:
        """Begin with a few rotations planned, so that the caps of R9 bite from the start."""
        for who, where, start, length in plans:
            self.plan_rotation(who, where, start, length)

    @rule(who=usually_fitting, where=usually_fitting, start=starts, length=lengths)
    def plan_rotation(self, who: Choice, where: Choice, start: date, length: int) -> None:
        employees = self.world().employees
        # Mostly active IT staff into host departments, sometimes anyone anywhere (R1).
        it_staff = [c for c, e in employees.items() if e.active and IS_IT[e.department]]
        employee, host = who.of(EVERYONE, it_staff), where.of(tuple(IS_IT), HOSTS)
        self.do_plan(employee, host, DateRange(start, start + timedelta(days=length - 1)))

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, keep_start=st.booleans(), start=starts, length=lengths)
    def reschedule_rotation(
        self, choice: Choice, keep_start: bool, start: date, length: int
    ) -> None:
        found = self._rotation(choice, lambda r: r.status in OPEN_ROTATION)
        first = found.period.start if keep_start else start
        self.do_reschedule(found, DateRange(first, first + timedelta(days=length - 1)))

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, offset=st.integers(-2, 8))
    def start_rotation(self, choice: Choice, offset: int) -> None:
        found = self._rotation(choice, lambda r: r.status is RotationStatus.PLANNED)
        self.do_start(found, found.period.start + timedelta(days=offset))

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, dated=st.booleans(), offset=st.integers(-3, 42))
    def record_observation(self, choice: Choice, dated: bool, offset: int) -> None:
        found = self._rotation(choice, lambda r: r.status is RotationStatus.IN_PROGRESS)
        self.do_observe(found, found.period.start + timedelta(days=offset) if dated else None)

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, offset=st.integers(-8, 3))
    def complete_rotation(self, choice: Choice, offset: int) -> None:
        found = self._rotation(choice, lambda r: r.status is RotationStatus.IN_PROGRESS)
        self.do_complete(found, found.period.end + timedelta(days=offset))

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=often_anything)  # so that not every rotation is cancelled early
    def cancel_rotation(self, choice: Choice) -> None:
        self.do_cancel(self._rotation(choice, lambda r: r.status in OPEN_ROTATION))

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, helper=st.integers(0, 999), moves=st.integers(1, 4))
    def advance_a_rotation(self, choice: Choice, helper: int, moves: int) -> None:
        """Take the next steps of a rotation's life, so that some get as far as completion.

        Each step is one command, checked like any other; the invariants are checked
        after the last.
        """
        rotation_id = self._rotation(choice, lambda r: r.status in OPEN_ROTATION).id
        for move in range(moves):
            self._next_step(self.world().rotations[rotation_id], helper + move)

    def _next_step(self, found: Rotation, helper: int) -> None:
        world = self.world()
        mentorship = self._current(found)
        if self._needs_mentor(found):
            staff = self._host_staff(found) or list(EVERYONE)
            self.do_nominate(found, staff[helper % len(staff)])
        elif mentorship is not None and mentorship.status is MentorshipStatus.NOMINATED:
            if helper % 5 == 4:
                self.do_decline(mentorship)
            else:
                self.do_accept(mentorship)
        elif found.status is RotationStatus.PLANNED:
            assert mentorship is not None
            if world.policy.require_briefing and mentorship.briefed_on is None:
                self.do_brief(mentorship, found.period.start - timedelta(days=helper % 3))
            else:
                self.do_start(found, found.period.start + timedelta(days=helper % 2))
        elif found.status is RotationStatus.IN_PROGRESS and world.live_improvements(found) == 0:
            self.do_propose(found, found.period.start + timedelta(days=helper % 5))
        elif found.status is RotationStatus.IN_PROGRESS and helper % 3 == 2:
            assert mentorship is not None, "a rotation in progress had a mentor"
            self.do_session(mentorship, SessionKind.HANDS_ON, found.period.end)
        elif found.status is RotationStatus.IN_PROGRESS:
            self.do_complete(found, found.period.end)
        elif mentorship is not None and mentorship.status is MentorshipStatus.AGREED:
            self.do_conclude(mentorship)
        else:
            self.do_observe(found, None)

    # -- rules: mentorships --------------------------------------------------------------

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, mentor_choice=usually_fitting)
    def nominate_mentor(self, choice: Choice, mentor_choice: Choice) -> None:
        found = self._rotation(choice, self._needs_mentor)
        # Mostly someone of the host department, sometimes anyone (R4 refuses those).
        self.do_nominate(found, mentor_choice.of(EVERYONE, self._host_staff(found)))

    @precondition(lambda self: self.mentorship_ids)
    @rule(choice=usually_fitting)
    def accept_mentorship(self, choice: Choice) -> None:
        self.do_accept(self._mentorship(choice, lambda m: m.status is MentorshipStatus.NOMINATED))

    @precondition(lambda self: self.mentorship_ids)
    @rule(choice=usually_fitting)
    def decline_mentorship(self, choice: Choice) -> None:
        self.do_decline(self._mentorship(choice, lambda m: m.status is MentorshipStatus.NOMINATED))

    @precondition(lambda self: self.mentorship_ids)
    @rule(choice=usually_fitting, offset=st.integers(-10, 10))
    def brief_mentor(self, choice: Choice, offset: int) -> None:
        found = self._mentorship(choice, lambda m: m.status in OPEN_MENTORSHIP)
        self.do_brief(found, FIRST_START + timedelta(days=offset))

    @precondition(lambda self: self.mentorship_ids)
    @rule(choice=usually_fitting, kind=st.sampled_from(SessionKind), offset=st.integers(-3, 42))
    def hold_mentor_session(self, choice: Choice, kind: SessionKind, offset: int) -> None:
        rotations = self.world().rotations
        found = self._mentorship(
            choice,
            lambda m: (
                m.status is MentorshipStatus.AGREED
                and rotations[m.rotation_id].status is not RotationStatus.PLANNED
            ),
        )
        start = rotations[found.rotation_id].period.start
        self.do_session(found, kind, start + timedelta(days=offset))

    @precondition(lambda self: self.mentorship_ids)
    @rule(choice=usually_fitting)
    def conclude_mentorship(self, choice: Choice) -> None:
        rotations = self.world().rotations
        self.do_conclude(
            self._mentorship(
                choice,
                lambda m: (
                    m.status is MentorshipStatus.AGREED
                    and rotations[m.rotation_id].status is RotationStatus.COMPLETED
                ),
            )
        )

    # -- rules: improvements -------------------------------------------------------------

    @precondition(lambda self: self.rotation_ids)
    @rule(choice=usually_fitting, dated=st.booleans(), offset=st.integers(0, 30))
    def propose_improvement(self, choice: Choice, dated: bool, offset: int) -> None:
        proposable = (RotationStatus.IN_PROGRESS, RotationStatus.COMPLETED)
        found = self._rotation(choice, lambda r: r.status in proposable)
        self.do_propose(found, found.period.start + timedelta(days=offset) if dated else None)

    @precondition(lambda self: self.improvement_ids)
    @rule(choice=usually_fitting, offset=st.integers(-3, 20))
    def adopt_improvement(self, choice: Choice, offset: int) -> None:
        found = self._improvement(choice)
        self.do_adopt(found, (found.proposed_on or FIRST_START) + timedelta(days=offset))

    @precondition(lambda self: self.improvement_ids)
    @rule(choice=usually_fitting)
    def reject_improvement(self, choice: Choice) -> None:
        self.do_reject(self._improvement(choice))

    @precondition(lambda self: self.improvement_ids)
    @rule(choice=usually_fitting)
    def withdraw_improvement(self, choice: Choice) -> None:
        self.do_withdraw(self._improvement(choice))

    # -- rules: the program and the directory --------------------------------------------

    @precondition(lambda self: self.policy_changes < 5)
    @rule(changes=POLICY_CHANGES)
    def set_policy(self, changes: dict[str, Any]) -> None:
        # Caps go down as well as up: rotations already booked keep their places.
        self.policy_changes += 1
        invalid = sorted(k for k, v in changes.items() if not isinstance(v, bool) and v < 1)
        self.attempt(
            "set_policy",
            lambda: self.program.set_policy(actor=ACTOR, **changes),
            refusal=f"{', '.join(invalid)} must be at least 1" if invalid else None,
        )

    def _someone_involved(self, choice: Choice) -> str:
        """Mostly a participant or mentor of an open rotation: what R10 is about."""
        involved = set()
        for rotation in self.world().rotations.values():
            if rotation.status in OPEN_ROTATION:
                involved.add(rotation.participant)
                mentorship = self._current(rotation)
                if mentorship is not None and mentorship.status in OPEN_MENTORSHIP:
                    involved.add(mentorship.mentor)
        return choice.of(EVERYONE, [c for c in EVERYONE if c in involved])

    # People leave or move rarely, and only once rotations exist.
    @precondition(lambda self: self.departures < 1 and len(self.rotation_ids) >= 2)
    @rule(who=usually_fitting, offset=st.integers(0, 60))
    def depart_employee(self, who: Choice, offset: int) -> None:
        self.departures += 1
        employee = self._someone_involved(who)
        active = self.world().employees[employee].active
        self.attempt(
            "depart_employee",
            lambda: self.program.depart_employee(
                employee, on=FIRST_START + timedelta(days=offset), actor=ACTOR
            ),
            refusal=None if active else f"{employee} has already departed",
        )

    @precondition(lambda self: self.transfers < 2 and len(self.rotation_ids) >= 2)
    @rule(who=usually_fitting, department=st.sampled_from(tuple(IS_IT)), offset=st.integers(0, 60))
    def transfer_employee(self, who: Choice, department: str, offset: int) -> None:
        self.transfers += 1
        employee = self._someone_involved(who)
        person = self.world().employees[employee]
        if not person.active:
            refusal: str | None = f"{employee} has departed"
        elif person.department == department:
            refusal = f"{employee} already works in {department}"
        else:
            refusal = None
        self.attempt(
            "transfer_employee",
            lambda: self.program.transfer_employee(
                employee,
                to_department=department,
                on=FIRST_START + timedelta(days=offset),
                actor=ACTOR,
            ),
            refusal=refusal,
        )

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def nobody_is_away_on_two_rotations_on_one_day(self) -> None:
        for day, away in self.world().days_away().items():
            people = [r.participant for r in away]
            assert len(people) == len(set(people)), f"{sorted(people)} on {day} (R9)"

    @invariant()
    def no_day_holds_more_than_the_caps_in_force_when_its_rotations_took_their_places(
        self,
    ) -> None:
        world = self.world()
        for day, away in world.days_away().items():
            newest = max(away, key=lambda r: self.window_admissions[r.id].step)
            cap = self.window_admissions[newest.id].policy.max_concurrent
            assert len(away) <= cap, f"{len(away)} away on {day}, cap {cap} (R9)"
            for host in {r.host_department for r in away}:
                guests = [r for r in away if r.host_department == host]
                newest = max(guests, key=lambda r: self.window_admissions[r.id].step)
                cap = self.window_admissions[newest.id].policy.max_guests_per_department
                assert len(guests) <= cap, f"{len(guests)} guests in {host} on {day}, cap {cap}"
            for mentor in {world.booked_mentor(r) for r in away} - {None}:
                mentees = [r for r in away if world.booked_mentor(r) == mentor]
                newest = max(mentees, key=lambda r: self.mentor_admissions[r.id].step)
                cap = self.mentor_admissions[newest.id].policy.max_mentees_per_mentor
                assert len(mentees) <= cap, f"{mentor} has {len(mentees)} on {day}, cap {cap}"

    @invariant()
    def every_rotation_is_no_longer_than_allowed_when_it_was_planned_or_moved(self) -> None:
        for rotation in self.world().rotations.values():
            cap = self.length_caps[rotation.id]
            assert rotation.period.length_days <= cap, f"{rotation.period} > {cap} days (R2)"

    @invariant()
    def every_rotation_goes_into_a_non_it_department(self) -> None:
        for rotation in self.world().rotations.values():
            assert not IS_IT[rotation.host_department], rotation.host_department

    @invariant()
    def a_started_rotation_had_an_agreed_mentor_when_it_started(self) -> None:
        world = self.world()
        for rotation in world.rotations.values():
            if rotation.started_on is None:
                assert rotation.status is not RotationStatus.COMPLETED
                assert rotation.id not in self.started_with
                continue
            mentorship = world.mentorships[self.started_with[rotation.id]]
            assert mentorship.rotation_id == rotation.id
            assert mentorship.status in AGREED_AT_START, f"{mentorship.status} (R4)"

    @invariant()
    def a_completed_rotation_keeps_an_improvement_not_withdrawn(self) -> None:
        world = self.world()
        for rotation in world.rotations.values():
            mine = [i.id for i in world.improvements.values() if i.rotation_id == rotation.id]
            assert list(rotation.improvement_ids) == mine
            if rotation.status is RotationStatus.COMPLETED:
                assert world.live_improvements(rotation) >= 1, f"{rotation.id} (R8)"

    @invariant()
    def the_month_rosters_hold_exactly_the_places_of_the_rotations_not_cancelled(self) -> None:
        world = self.world()
        for month in MONTHS:
            expected = {
                r.id: (r.participant, r.host_department, r.period, world.booked_mentor(r))
                for r in world.holding_places()
                if month in months_of(r.period)
            }
            roster = world.rosters.get(month)
            held = {
                i: (b.participant, b.host_department, b.period, b.mentor)
                for i, b in (roster.bookings.items() if roster else ())
            }
            assert all(i == b.rotation_id for i, b in (roster.bookings.items() if roster else ()))
            assert held == expected, f"roster {month}: held {held}, expected {expected}"

    @invariant()
    def nobody_who_left_or_moved_is_silently_kept_on_an_open_rotation(self) -> None:
        world = self.world()
        for rotation in world.rotations.values():
            if rotation.status not in OPEN_ROTATION:
                continue
            participant = world.employees[rotation.participant]
            assert participant.active, f"{participant.code} left; {rotation.id} is open (R10)"
            if not IS_IT[participant.department]:
                assert rotation.status is RotationStatus.IN_PROGRESS, rotation.status
                assert rotation.flags, f"{participant.code} moved; {rotation.id} is not flagged"
            mentorship = (
                world.mentorships.get(rotation.mentorship_id) if rotation.mentorship_id else None
            )
            if mentorship is not None and mentorship.status in OPEN_MENTORSHIP:
                mentor = world.employees[mentorship.mentor]
                assert mentor.active, f"{mentor.code} left; still mentors {rotation.id} (R10)"
                assert mentor.department == rotation.host_department, (
                    f"{mentor.code} moved to {mentor.department}; still mentors in "
                    f"{rotation.host_department} (R10)"
                )

    @invariant()
    def a_mentor_who_was_released_leaves_the_rotation_flagged(self) -> None:
        world = self.world()
        for mentorship in world.mentorships.values():
            rotation = world.rotations[mentorship.rotation_id]
            if rotation.status is RotationStatus.CANCELLED:
                assert mentorship.status not in OPEN_MENTORSHIP, "cancelled, still mentored"
            elif mentorship.status is MentorshipStatus.RELEASED:
                assert rotation.flags, f"{mentorship.mentor} was released silently (R10)"

    @invariant()
    def every_record_names_the_same_people_as_its_rotation(self) -> None:
        world = self.world()
        for mentorship in world.mentorships.values():
            rotation = world.rotations[mentorship.rotation_id]
            assert (mentorship.participant, mentorship.host_department) == (
                rotation.participant,
                rotation.host_department,
            )
            mentor = world.employees[mentorship.mentor]
            assert Assignment(rotation.id, Role.MENTOR, mentorship.id) in mentor.assignments
        for improvement in world.improvements.values():
            rotation = world.rotations[improvement.rotation_id]
            assert (improvement.participant, improvement.host_department) == (
                rotation.participant,
                rotation.host_department,
            )
        for rotation in world.rotations.values():
            # R10 finds a leaver's rotations through these assignments.
            participant = world.employees[rotation.participant]
            assert Assignment(rotation.id, Role.PARTICIPANT, None) in participant.assignments

    def _known_ids(self) -> set[UUID]:
        return {
            PROGRAM_ID,
            *(Department.id_for(code) for code in IS_IT),
            *(Employee.id_for(code) for code in EVERYONE),
            *(MonthRoster.id_for(month) for month in MONTHS),
            *self.rotation_ids,
            *self.mentorship_ids,
            *self.improvement_ids,
        }

    @invariant()
    def replaying_the_stored_events_rebuilds_every_aggregate_touched(self) -> None:
        live_by_id = self.world().by_id()
        touched, self.unverified = self.unverified, set()
        assert touched <= self._known_ids(), f"unexpected aggregates {touched - self._known_ids()}"
        for aggregate_id in touched:
            live = live_by_id.get(aggregate_id) or self.program.get(aggregate_id)
            assert not live.pending_events
            expected = state_of(live)
            # From scratch: every stored event of the aggregate, no snapshot, no cache.
            rebuilt = project_aggregate(None, self.program.app.events.get(aggregate_id))
            assert rebuilt is not None, f"{aggregate_id} has no stored events"
            assert state_of(rebuilt) == expected, f"replaying {type(live).__name__}"
            # By version: from the latest snapshot (if any) and the events after it.
            from_snapshot = self.program.get(aggregate_id, version=live.version)
            assert state_of(from_snapshot) == expected, f"{type(live).__name__} by snapshot"
            elsewhere = self.rebuilt_elsewhere(aggregate_id)
            if elsewhere is not None:
                assert state_of(elsewhere) == expected, f"{type(live).__name__} elsewhere"
            self.verified[aggregate_id] = expected
        if self.fully_reloaded:
            # What recorded nothing (refused commands included) still reads as verified.
            for aggregate_id, live in live_by_id.items():
                assert state_of(live) == self.verified[aggregate_id], f"{aggregate_id} drifted"


class SQLiteProgramMachine(ProgramMachine):
    """The same machine on a SQLite file; a second program on the file replays the events."""

    def open_store(self) -> RotationProgram:
        self.directory = Path(tempfile.mkdtemp(prefix="rotation-stateful-"))
        url = f"sqlite:///{self.directory / 'rotation.db'}"
        program = open_program(url, today=lambda: TODAY)
        # No aggregate cache: every read is built from the stored events and snapshots.
        self.reader = open_program(
            url, today=lambda: TODAY, settings={"AGGREGATE_CACHE_MAXSIZE": ""}, inline=False
        )
        assert self.reader.app.repository.cache is None
        return program

    def rebuilt_elsewhere(self, aggregate_id: UUID) -> Aggregate | None:
        return self.reader.get(aggregate_id)

    def teardown(self) -> None:
        try:
            self.reader.close()
            super().teardown()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _budget(max_examples: int, steps: int) -> settings:
    """The default budget, times ``ROTATION_STATEFUL_BUDGET`` (e.g. 20 for a nightly run)."""
    scale = float(os.environ.get("ROTATION_STATEFUL_BUDGET", "1"))
    return settings(
        max_examples=max(1, round(max_examples * scale)),
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@pytest.fixture(autouse=True)
def only_the_built_in_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep installed plugins (a company's extra rules, such as vetoes) out of the model."""
    built_in = ",".join(module.rsplit(".", 1)[-1] for module in DEFAULT_PLUGINS)
    monkeypatch.setenv("ROTATION_PLUGINS", built_in)


class TestRandomCommandSequencesKeepEveryInvariant:
    def test_on_the_in_memory_store(self) -> None:
        run_state_machine_as_test(ProgramMachine, settings=_budget(60, 50))


class TestRandomCommandSequencesKeepEveryInvariantOnSQLite:
    def test_on_a_sqlite_file_read_back_by_a_second_program(self) -> None:
        run_state_machine_as_test(SQLiteProgramMachine, settings=_budget(20, 40))
