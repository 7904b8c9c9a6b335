"""Concurrent writers on one PostgreSQL store: the R9 caps hold and conflicts are retried.

Two OS processes (``sys.executable -c`` running `PLANNER`) open the same fresh schema
and plan rotations into the same months, each plan released at the same moment in
both processes by a start line (a file per process and plan, in a shared directory).
Every plan writes the month rosters, so the processes collide; `RotationProgram`
retries on `IntegrityError` and, once its attempts are spent, raises
`ConcurrencyConflict` instead. The retry tests at the end force the collision
deterministically, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from rotation_domain import (
    ConcurrencyConflict,
    Employee,
    MonthRoster,
    RotationDomainError,
    RotationProgram,
    RotationStatus,
    open_program,
)
from rotation_domain.roster import months_of

CIO = "cio@example.com"
HOSTS = ("FIN", "OPS", "HR")
MAX_CONCURRENT = 4
MAX_GUESTS = 2
RUN_TIMEOUT = 120.0

PLANNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    from eventsourcing.persistence import IntegrityError

    from rotation_domain import ConcurrencyConflict, RotationDomainError, open_program

    url, name, other, plans_file, sync_dir = sys.argv[1:]
    plans = json.loads(Path(plans_file).read_text())
    sync = Path(sync_dir)
    counts = {"saves": 0, "integrity_errors": 0}
    program = open_program(url)
    real_save = program.app.save

    def counting_save(*objs, **kwargs):
        counts["saves"] += 1
        try:
            return real_save(*objs, **kwargs)
        except IntegrityError:
            counts["integrity_errors"] += 1
            raise

    def start_line(turn):
        # Both planners start each plan at the same moment, so their writes collide.
        (sync / f"{name}.{turn}").write_text("ready")
        deadline = time.monotonic() + 60
        while not (sync / f"{other}.{turn}").exists():
            if time.monotonic() > deadline:
                sys.exit(f"{other} never reached start line {turn}")
            time.sleep(0.0005)

    program.app.save = counting_save
    program.policy()  # connect and warm up before the first start line
    accepted, refused, conflicts = [], {}, 0
    for turn, plan in enumerate(plans):
        start_line(turn)
        try:
            rotation = program.plan_rotation(
                plan["employee"],
                host_department=plan["host"],
                start=plan["start"],
                end=plan["end"],
                actor=name,
            )
        except ConcurrencyConflict:
            conflicts += 1
        except RotationDomainError as error:
            refused[type(error).__name__] = refused.get(type(error).__name__, 0) + 1
        else:
            accepted.append(str(rotation))
    program.close()
    print(json.dumps({
        "accepted": accepted, "refused": refused, "conflicts": conflicts, **counts
    }))
    """
)


# Helpers.


def seed_it_staff(program: RotationProgram, employees: list[str]) -> None:
    """An IT department, three hosts, the given IT staff and tight caps."""
    with program.acting_as(CIO):
        program.register_department("IT", name="Information Technology", is_it=True)
        for host in HOSTS:
            program.register_department(host, name=f"Department {host}")
        for code in employees:
            program.register_employee(
                code, name=f"Engineer {code}", email=f"{code.lower()}@example.com", department="IT"
            )
        program.set_policy(
            max_length_days=31,
            max_concurrent=MAX_CONCURRENT,
            max_guests_per_department=MAX_GUESTS,
            max_mentees_per_mentor=1,
        )


def planned_rotations(program: RotationProgram) -> dict[UUID, Any]:
    """Every rotation the log says was planned, by id, in its current state."""
    log = program.app.notification_log
    ids: list[UUID] = []
    start = 1
    while True:
        page = log.select(
            start=start, limit=log.section_size, topics=["rotation_domain:RotationPlanned"]
        )
        ids.extend(UUID(str(n.originator_id)) for n in page)
        if len(page) < log.section_size:
            break
        start = page[-1].id + 1
    return {rotation_id: program.get(rotation_id) for rotation_id in ids}


def make_plans(rng: random.Random, employees: list[str]) -> list[dict[str, str]]:
    """One rotation of 5-12 days per employee, in January or early February 2027."""
    plans = []
    for n, employee in enumerate(employees):
        start = date(2027, 1, 1) + timedelta(days=rng.randint(0, 35))
        end = start + timedelta(days=rng.randint(4, 11))
        plans.append(
            {
                "employee": employee,
                "host": HOSTS[n % len(HOSTS)],
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
    return plans


# Two processes, one schema.


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_planning_at_once_never_break_a_cap(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    employees = [f"E{n:02d}" for n in range(1, 31)]
    with open_program(postgres_schema_url) as program:
        seed_it_staff(program, employees)

    # Each process plans 20 rotations; E11-E20 are wanted by both, on different dates.
    rng = random.Random(20270101)
    wanted = {"planner-a": employees[:20], "planner-b": employees[10:]}
    sync_dir = tmp_path / "start-lines"
    sync_dir.mkdir()
    planners: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, other in (("planner-a", "planner-b"), ("planner-b", "planner-a")):
            plans_file = tmp_path / f"{name}.json"
            plans_file.write_text(json.dumps(make_plans(rng, wanted[name])))
            planners[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    PLANNER,
                    postgres_schema_url,
                    name,
                    other,
                    str(plans_file),
                    str(sync_dir),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
        outputs = {
            name: process.communicate(timeout=RUN_TIMEOUT) for name, process in planners.items()
        }
        failed = {
            name: outputs[name][1] for name, process in planners.items() if process.returncode
        }
        assert not failed, f"planners failed (each one's stderr): {failed}"
        results = {name: json.loads(out) for name, (out, _) in outputs.items()}
    finally:
        for process in planners.values():
            if process.poll() is None:
                process.kill()
                process.communicate()

    accepted = [UUID(i) for result in results.values() for i in result["accepted"]]
    refused = sum(n for result in results.values() for n in result["refused"].values())
    conflicts = sum(result["conflicts"] for result in results.values())
    retried = sum(result["integrity_errors"] for result in results.values())
    assert all(result["accepted"] for result in results.values()), results
    assert refused > 0, results
    assert retried > 0, f"the planners never collided; nothing was retried: {results}"
    # In lock step, the loser of a collision retries while the winner waits at the next
    # start line, so one retry always suffices: no command gives up.
    assert conflicts == 0, results
    assert len(accepted) + refused == 40

    with open_program(postgres_schema_url) as program:
        rotations = planned_rotations(program)
        rosters: dict[str, Any] = {
            month: program.get(MonthRoster.id_for(month)) for month in ("2027-01", "2027-02")
        }
        assignments = {
            code: len(program.get(Employee.id_for(code)).assignments)  # type: ignore[attr-defined]
            for code in employees
        }

    # Exactly the accepted rotations were recorded, each once, none cancelled.
    assert sorted(rotations) == sorted(accepted)
    assert all(r.status is RotationStatus.PLANNED for r in rotations.values())
    trips_per_person = Counter(r.participant for r in rotations.values())
    assert assignments == {code: trips_per_person[code] for code in employees}

    # On every day, every cap holds.
    away: Counter[date] = Counter()
    guests: Counter[tuple[date, str]] = Counter()
    trips: Counter[tuple[date, str]] = Counter()
    for rotation in rotations.values():
        if rotation.status is RotationStatus.CANCELLED:
            continue
        for day in rotation.period.days():
            away[day] += 1
            guests[day, rotation.host_department] += 1
            trips[day, rotation.participant] += 1
    assert max(away.values()) <= MAX_CONCURRENT, away.most_common(3)
    assert max(guests.values()) <= MAX_GUESTS, guests.most_common(3)
    assert max(trips.values()) == 1, trips.most_common(3)
    assert max(away.values()) == MAX_CONCURRENT  # the caps were actually reached

    # The month rosters hold one booking per accepted rotation, with its window.
    booked: set[UUID] = set()
    for month, roster in rosters.items():
        touching = {i for i, r in rotations.items() if month in months_of(r.period)}
        assert set(roster.bookings) == touching, month
        for rotation_id, booking in roster.bookings.items():
            assert booking.period == rotations[rotation_id].period
            assert booking.participant == rotations[rotation_id].participant
            assert booking.host_department == rotations[rotation_id].host_department
        booked |= set(roster.bookings)
    assert len(booked) == len(accepted)


# Retries and ConcurrencyConflict, forced deterministically.


class Interferer:
    """An authorizer that lets a second program write to the same rotation first.

    Authorization runs inside the command, after the rotation was loaded and before it
    is saved, so each interference makes the command's copy stale.
    """

    def __init__(self, times: int) -> None:
        self.times = times
        self.done = 0
        self.other: RotationProgram | None = None
        self.rotation: UUID | None = None

    def __call__(self, actor: str, action: str, context: dict[str, Any]) -> None:
        if action != "record_observation" or self.done >= self.times:
            return
        assert self.other is not None
        assert self.rotation is not None
        self.done += 1
        self.other.record_observation(self.rotation, f"interference {self.done}", actor="E1")


@pytest.fixture
def racing(
    shared_store_url: str, seed: Callable[[RotationProgram], None]
) -> Iterator[Callable[[int], tuple[RotationProgram, UUID, Interferer]]]:
    """Opens a program whose commands lose a write race the given number of times.

    Yields a function of ``times`` giving the program, a rotation in progress and the
    interferer; a second program on the same store does the interfering writes.
    """
    opened: list[RotationProgram] = []

    def race(times: int) -> tuple[RotationProgram, UUID, Interferer]:
        interferer = Interferer(times)
        other = open_program(shared_store_url)
        opened.append(other)
        seed(other)
        with other.acting_as(CIO):
            rotation = other.plan_rotation(
                "E1", host_department="FIN", start="2027-01-04", end="2027-01-29"
            )
            mentorship = other.nominate_mentor(rotation, mentor="M1")
            other.accept_mentorship(mentorship, actor="M1")
            other.start_rotation(rotation, on="2027-01-04")
        interferer.other, interferer.rotation = other, rotation
        program = open_program(shared_store_url, authorize=interferer)
        opened.append(program)
        program.get(rotation)  # cached, as in a long-running process
        return program, rotation, interferer

    yield race
    for program in opened:
        program.close()


def count_integrity_errors(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], int]:
    """Counts the write conflicts the program's saves run into."""
    seen = [0]
    real_save = program.app.save

    def counting_save(*objs: Any, **kwargs: Any) -> Any:
        try:
            return real_save(*objs, **kwargs)
        except IntegrityError:
            seen[0] += 1
            raise

    monkeypatch.setattr(program.app, "save", counting_save)
    return lambda: seen[0]


def observations(program: RotationProgram, rotation: UUID) -> list[str]:
    fresh: Any = program.get(rotation)
    return [o.text for o in fresh.observations]


def test_a_command_that_loses_a_write_race_is_retried_and_recorded_once(
    racing: Callable[[int], tuple[RotationProgram, UUID, Interferer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program, rotation, interferer = racing(1)
    conflicts = count_integrity_errors(program, monkeypatch)

    program.record_observation(rotation, "Invoices re-keyed by hand", actor="E1")

    assert interferer.done == 1
    assert conflicts() == 1
    assert observations(program, rotation) == ["interference 1", "Invoices re-keyed by hand"]


def test_concurrency_conflict_is_raised_not_integrity_error_when_the_only_attempt_loses(
    racing: Callable[[int], tuple[RotationProgram, UUID, Interferer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program, rotation, interferer = racing(1)
    program.max_attempts = 1
    conflicts = count_integrity_errors(program, monkeypatch)

    with pytest.raises(ConcurrencyConflict) as refused:
        program.record_observation(rotation, "Invoices re-keyed by hand", actor="E1")

    assert isinstance(refused.value, RotationDomainError)
    assert not isinstance(refused.value, IntegrityError)
    assert refused.value.details == {"attempts": 1}
    assert conflicts() == 1
    assert interferer.done == 1
    assert observations(program, rotation) == ["interference 1"]
    # The stale copy was dropped: the next command works on fresh state.
    program.record_observation(rotation, "Invoices re-keyed by hand", actor="E1")
    assert observations(program, rotation) == ["interference 1", "Invoices re-keyed by hand"]


def test_concurrency_conflict_is_raised_once_every_attempt_has_lost(
    racing: Callable[[int], tuple[RotationProgram, UUID, Interferer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program, rotation, interferer = racing(1_000)
    conflicts = count_integrity_errors(program, monkeypatch)

    with pytest.raises(ConcurrencyConflict) as refused:
        program.record_observation(rotation, "Invoices re-keyed by hand", actor="E1")

    attempts = program.max_attempts
    assert attempts > 1
    assert refused.value.details == {"attempts": attempts}
    assert f"{attempts} attempts" in str(refused.value)
    assert interferer.done == attempts
    assert conflicts() == attempts
    assert observations(program, rotation) == [f"interference {n}" for n in range(1, attempts + 1)]


@pytest.mark.postgres
def test_processes_opening_a_new_database_at_once_all_open_it(postgres_schema_url: str) -> None:
    """Creating the tables at once races in PostgreSQL's catalog; every opener must win."""
    script = textwrap.dedent(
        """
        import sys, time
        from rotation_domain import open_program
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
        with open_program(sys.argv[1]) as program:
            program.register_department("D" + sys.argv[3], name="Dept", actor="cio")
        """
    )
    start_at = str(time.time() + 1.5)
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_schema_url, start_at, str(n)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    errors = {n: opener.communicate(timeout=120)[1] for n, opener in enumerate(openers)}
    failures = {n: errors[n] for n, opener in enumerate(openers) if opener.returncode}
    assert failures == {}
    with open_program(postgres_schema_url) as program:
        assert program.app.recorder.max_notification_id() == 4
