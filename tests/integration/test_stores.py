"""The same application tests on every store: memory, a SQLite file and PostgreSQL.

Each test gets an empty store from the ``store_url`` fixture (a fresh schema for
PostgreSQL). "A restart" opens a NEW program on the same URL, with an empty cache, and
reads everything back from what was recorded. A memory store lives inside its program
only, so there a restart copies the recorded events (and snapshots) into a fresh
memory store: the new program still reads nothing but the stored records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification, StoredEvent

from rotation_domain import (
    ActorRequired,
    DateRange,
    Department,
    Employee,
    HostDepartmentFull,
    ImprovementRequired,
    ImprovementStatus,
    InvalidInput,
    InvalidTransition,
    MentorNotAgreed,
    MentorNotInHostDepartment,
    MentorSession,
    MentorshipStatus,
    MonthRoster,
    Policy,
    ReviewCycle,
    RotationProgram,
    RotationStatus,
    SessionKind,
    UnknownEmployee,
    UnknownId,
    open_program,
)
from rotation_domain.application import DEFAULT_STORE, RotationApplication
from rotation_domain.employee import Assignment, Role
from rotation_domain.policies import Booking
from rotation_domain.program import PROGRAM_ID, Exemption
from rotation_domain.rotation import Observation

TODAY = date(2027, 1, 1)
CIO = "cio@example.com"

Seed = Callable[[RotationProgram], None]
Opener = Callable[[], RotationProgram]


# Helpers.


@attrs.frozen
class Story:
    """The ids the source story created."""

    rotation: UUID
    mentorship: UUID
    improvement: UUID


def run_source_story(program: RotationProgram) -> Story:
    """The story of docs/design/domain.md, with one session of each kind (E1 into FIN)."""
    with program.acting_as(CIO):
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = program.nominate_mentor(rotation, mentor="M1")
    with program.acting_as("M1"):
        program.accept_mentorship(mentorship)
    with program.acting_as(CIO):
        program.brief_mentor(mentorship, on=date(2027, 1, 2))
        program.start_rotation(rotation, on=date(2027, 1, 4))
    with program.acting_as("M1"):
        for day, kind in zip((6, 8, 12), SessionKind, strict=True):
            program.hold_mentor_session(
                mentorship, kind=kind, on=date(2027, 1, day), topic=f"month-end close: {kind}"
            )
    with program.acting_as("E1"):
        program.record_observation(
            rotation, "Invoices are re-keyed by hand from e-mail", on=date(2027, 1, 7)
        )
        improvement = program.propose_improvement(
            rotation,
            title="Route invoices automatically",
            description="Parse the supplier e-mails and post the invoices.",
            on=date(2027, 1, 20),
        )
    with program.acting_as("M1"):
        program.adopt_improvement(improvement, on=date(2027, 2, 15))
    with program.acting_as(CIO):
        program.complete_rotation(rotation, on=date(2027, 1, 29))
    return Story(rotation=rotation, mentorship=mentorship, improvement=improvement)


def read_log(program: RotationProgram) -> list[Notification]:
    """Every notification of the program's log, in order, read page by page."""
    log = program.app.notification_log
    notifications: list[Notification] = []
    start = 1
    while True:
        page = log.select(start=start, limit=log.section_size)
        notifications.extend(page)
        if len(page) < log.section_size:
            return notifications
        start = page[-1].id + 1


def log_entries(program: RotationProgram) -> list[tuple[int, UUID, int, str, str]]:
    """(position, aggregate id, version, topic, actor) of every recorded event."""
    mapper = program.app.mapper
    entries = []
    for notification in read_log(program):
        event: Any = mapper.to_domain_event(notification)
        entries.append(
            (
                notification.id,
                UUID(str(notification.originator_id)),
                notification.originator_version,
                notification.topic,
                event.actor,
            )
        )
    return entries


def aggregate_ids(program: RotationProgram) -> list[UUID]:
    """The id of every aggregate the log mentions, in order of first appearance."""
    return list(dict.fromkeys(entry[1] for entry in log_entries(program)))


def states(program: RotationProgram) -> dict[UUID, Aggregate]:
    """The current state of every aggregate, by id."""
    return {aggregate_id: program.get(aggregate_id) for aggregate_id in aggregate_ids(program)}


def as_stored_event(record: StoredEvent) -> StoredEvent:
    return StoredEvent(
        originator_id=record.originator_id,
        originator_version=record.originator_version,
        topic=record.topic,
        state=record.state,
    )


def restart(program: RotationProgram, url: str) -> RotationProgram:
    """A NEW program on the store of ``program``, as a restarted process would open it.

    The old program is closed. For ``memory:`` the recorded events and snapshots are
    copied into a new memory store, since that store dies with its program.
    """
    if url != "memory:":
        program.close()
        return open_program(url, today=lambda: TODAY)
    fresh = open_program(url, today=lambda: TODAY)
    # The memory store's personal-data keys live in its process too: carry them over.
    fresh.app.personal_keys = program.app.personal_keys
    fresh.app.mapper.use_personal_keys(program.app.personal_keys)
    ids = aggregate_ids(program)
    fresh.app.recorder.insert_events([as_stored_event(n) for n in read_log(program)])
    if program.app.snapshots is not None and fresh.app.snapshots is not None:
        for aggregate_id in ids:
            snapshots = program.app.snapshots.recorder.select_events(aggregate_id)
            fresh.app.snapshots.recorder.insert_events([as_stored_event(s) for s in snapshots])
    program.close()
    return fresh


@pytest.fixture
def open_store(store_url: str) -> Iterator[Opener]:
    """Opens programs on the test's store (clock: 2027-01-01) and closes them afterwards."""
    opened: list[RotationProgram] = []

    def opener() -> RotationProgram:
        program = open_program(store_url, today=lambda: TODAY)
        opened.append(program)
        return program

    yield opener
    for program in opened:
        program.close()


@pytest.fixture
def company(open_store: Opener, seed: Seed) -> RotationProgram:
    """A program on the test's store, seeded with the conftest company."""
    program = open_store()
    seed(program)
    return program


# The source story, then a restart.


def test_a_restarted_program_sees_the_source_story_exactly_as_it_was_recorded(
    company: RotationProgram, store_url: str
) -> None:
    story = run_source_story(company)
    before_states = states(company)
    before_log = log_entries(company)

    rotation = before_states[story.rotation]
    assert rotation.status is RotationStatus.COMPLETED
    assert rotation.started_on == date(2027, 1, 4)
    assert rotation.finished_on == date(2027, 1, 29)
    assert rotation.observations == (
        Observation("Invoices are re-keyed by hand from e-mail", date(2027, 1, 7)),
    )
    assert rotation.improvement_ids == (story.improvement,)
    mentorship = before_states[story.mentorship]
    assert mentorship.status is MentorshipStatus.AGREED
    assert mentorship.briefed_on == date(2027, 1, 2)
    assert [s.kind for s in mentorship.sessions] == list(SessionKind)
    improvement = before_states[story.improvement]
    assert improvement.status is ImprovementStatus.ADOPTED
    assert improvement.decided_on == date(2027, 2, 15)

    restarted = restart(company, store_url)
    try:
        after_states = states(restarted)
        after_log = log_entries(restarted)
    finally:
        restarted.close()

    assert list(after_states) == list(before_states)
    for aggregate_id, state in before_states.items():
        assert after_states[aggregate_id] == state, aggregate_id
    assert after_log == before_log

    milestones = [
        (topic.split(":")[-1], actor)
        for _, originator, _, topic, actor in after_log
        if originator in {story.rotation, story.mentorship, story.improvement}
        and not topic.endswith("Linked")
    ]
    assert milestones == [
        ("RotationPlanned", CIO),
        ("MentorNominated", CIO),
        ("MentorAgreed", "M1"),
        ("MentorBriefed", CIO),
        ("RotationStarted", CIO),
        ("MentorSessionHeld", "M1"),
        ("MentorSessionHeld", "M1"),
        ("MentorSessionHeld", "M1"),
        ("ObservationRecorded", "E1"),
        ("ImprovementProposed", "E1"),
        ("ImprovementAdopted", "M1"),
        ("RotationCompleted", CIO),
    ]
    positions = [entry[0] for entry in after_log]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)


def test_value_objects_come_back_typed_after_a_restart(
    company: RotationProgram, store_url: str
) -> None:
    story = run_source_story(company)
    with company.acting_as(CIO):
        company.open_review_cycle("2027", start=date(2027, 1, 1), end=date(2027, 12, 31))
        company.grant_exemption("E2", "2027", reason="parental leave")
    restarted = restart(company, store_url)
    try:
        program: Any = restarted.get(PROGRAM_ID)
        rotation: Any = restarted.get(story.rotation)
        mentorship: Any = restarted.get(story.mentorship)
        improvement: Any = restarted.get(story.improvement)
        roster: Any = restarted.get(MonthRoster.id_for("2027-01"))
        employee: Any = restarted.get(Employee.id_for("E1"))
        department: Any = restarted.get(Department.id_for("FIN"))
        policy = restarted.policy()
    finally:
        restarted.close()

    assert type(policy) is Policy
    assert attrs.has(type(policy))
    assert policy == Policy(31, 3, 1, 1, require_briefing=False)
    assert program.policy == policy
    cycle = program.cycles["2027"]
    assert type(cycle) is ReviewCycle
    assert type(cycle.period) is DateRange
    assert cycle.period == DateRange(date(2027, 1, 1), date(2027, 12, 31))
    assert list(program.exemptions.values()) == [Exemption("E2", "2027")]

    assert type(rotation.period) is DateRange
    assert type(rotation.period.start) is date
    assert type(rotation.started_on) is date
    assert rotation.status is RotationStatus.COMPLETED
    assert type(rotation.mentorship_id) is UUID
    assert type(rotation.observations[0]) is Observation
    assert type(rotation.observations[0].on) is date
    assert type(rotation.improvement_ids[0]) is UUID
    assert type(rotation.created_on) is datetime
    assert rotation.created_on.tzinfo is not None

    assert mentorship.status is MentorshipStatus.AGREED
    assert all(type(session) is MentorSession for session in mentorship.sessions)
    assert [type(session.kind) for session in mentorship.sessions] == [SessionKind] * 3
    assert type(mentorship.briefed_on) is date
    assert improvement.status is ImprovementStatus.ADOPTED
    assert type(improvement.decided_on) is date

    [(key, booking)] = roster.bookings.items()
    assert key == story.rotation
    assert type(booking) is Booking
    assert booking.period == DateRange(date(2027, 1, 4), date(2027, 1, 29))
    assert booking.mentor == "M1"
    assert employee.assignments == (Assignment(story.rotation, Role.PARTICIPANT),)
    assert type(employee.assignments[0].role) is Role
    assert department.is_it is False


# Refused commands.


def test_a_refused_command_records_nothing(
    company: RotationProgram, store_url: str, events_recorded: Callable[[RotationProgram], int]
) -> None:
    with company.acting_as(CIO):
        rotation = company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = company.nominate_mentor(rotation, mentor="M1")
        company.accept_mentorship(mentorship, actor="M1")
        company.start_rotation(rotation, on=date(2027, 1, 4))
        improvement = company.propose_improvement(rotation, title="Route invoices", actor="E1")
        company.complete_rotation(rotation, on=date(2027, 1, 29))
        waiting = company.plan_rotation(
            "E3", host_department="OPS", start=date(2027, 4, 1), end=date(2027, 4, 20)
        )
    count = events_recorded(company)
    before_states = states(company)
    before_log = log_entries(company)

    refusals: list[tuple[type[Exception], Callable[[], object]]] = [
        # The withdrawal is applied to the improvement, then refused: nothing may leak.
        (ImprovementRequired, lambda: company.withdraw_improvement(improvement, actor="E1")),
        # FIN takes one guest at a time.
        (
            HostDepartmentFull,
            lambda: company.plan_rotation(
                "E2", host_department="FIN", start="2027-01-10", end="2027-01-20", actor=CIO
            ),
        ),
        # March's roster is opened and booked, then April refuses the booking.
        (
            HostDepartmentFull,
            lambda: company.plan_rotation(
                "E2", host_department="OPS", start="2027-03-20", end="2027-04-05", actor=CIO
            ),
        ),
        (
            MentorNotInHostDepartment,
            lambda: company.nominate_mentor(waiting, mentor="M1", actor=CIO),
        ),
        (MentorNotAgreed, lambda: company.start_rotation(waiting, on="2027-04-01", actor=CIO)),
        (
            InvalidTransition,
            lambda: company.complete_rotation(rotation, on="2027-01-30", actor=CIO),
        ),
        (
            UnknownEmployee,
            lambda: company.plan_rotation(
                "E99", host_department="HR", start="2027-05-01", end="2027-05-02", actor=CIO
            ),
        ),
        (
            InvalidInput,
            lambda: company.plan_rotation(
                "E2", host_department="HR", start="2027-05-02", end="2027-05-01", actor=CIO
            ),
        ),
        (
            ActorRequired,
            lambda: company.cancel_rotation(waiting, reason="no actor was given"),
        ),
    ]
    for error, command in refusals:
        with pytest.raises(error):
            command()
        assert events_recorded(company) == count, error.__name__

    assert log_entries(company) == before_log
    assert states(company) == before_states
    with pytest.raises(UnknownId):
        company.get(MonthRoster.id_for("2027-03"))

    restarted = restart(company, store_url)
    try:
        assert log_entries(restarted) == before_log
        assert states(restarted) == before_states
        # The program goes on normally after the refusals.
        restarted.plan_rotation(
            "E2", host_department="HR", start="2027-05-03", end="2027-05-28", actor=CIO
        )
        assert events_recorded(restarted) > count
    finally:
        restarted.close()


# Snapshots.


def test_long_histories_are_snapshotted_and_a_fresh_program_loads_the_same_state(
    company: RotationProgram, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = RotationApplication.SNAPSHOT_INTERVAL
    roster_id = MonthRoster.id_for("2027-01")
    employee_id = Employee.id_for("E1")
    with company.acting_as(CIO):
        for quarter, (start, end) in enumerate(
            [("2027-01-01", "2027-03-31"), ("2027-04-01", "2027-06-30")], start=1
        ):
            company.open_review_cycle(f"2027-Q{quarter}", start=start, end=end)
        company.grant_exemption("E2", "2027-Q1", reason="parental leave")
        for n in range(interval):
            company.set_policy(max_concurrent=4 + n % 2)
        for n in range(interval):
            rotation = company.plan_rotation(
                "E1", host_department="FIN", start="2027-01-04", end="2027-01-08"
            )
            company.cancel_rotation(rotation, reason=f"postponed, {n + 1}. time")

    program: Any = company.get(PROGRAM_ID)
    roster: Any = company.get(roster_id)
    employee: Any = company.get(employee_id)
    assert program.version > interval
    assert roster.version > 2 * interval
    assert employee.version > interval
    assert company.app.snapshots is not None
    program_snapshots = list(company.app.snapshots.get(PROGRAM_ID))
    assert [s.originator_version for s in program_snapshots] == [interval]
    assert [s.originator_version for s in company.app.snapshots.get(roster_id)] == [
        interval,
        2 * interval,
    ]
    assert [s.originator_version for s in company.app.snapshots.get(employee_id)] == [interval]
    snapshot_state = program_snapshots[0].state
    assert type(snapshot_state["policy"]) is Policy
    assert type(snapshot_state["cycles"]["2027-Q1"].period) is DateRange
    assert type(snapshot_state["exemptions"]["2027-Q1\x1fE2"]) is Exemption

    restarted = restart(company, store_url)
    try:
        # The first stored state each load decodes: the latest snapshot, whether the
        # snapshot and the events after it are read in one query or in two.
        first_decoded: dict[UUID, int] = {}
        mapper = restarted.app.mapper
        real_decode = mapper.to_domain_event

        def spying_decode(stored: Any) -> Any:
            first_decoded.setdefault(UUID(str(stored.originator_id)), stored.originator_version)
            return real_decode(stored)

        monkeypatch.setattr(mapper, "to_domain_event", spying_decode)
        assert restarted.get(PROGRAM_ID) == program
        assert restarted.get(roster_id) == roster
        assert restarted.get(employee_id) == employee
        assert restarted.policy() == Policy(31, 4 + (interval - 1) % 2, 1, 1)
    finally:
        restarted.close()
    # Each aggregate was loaded from its latest snapshot, not from its first event.
    assert first_decoded == {PROGRAM_ID: interval, roster_id: 2 * interval, employee_id: interval}


def test_a_snapshot_is_taken_from_the_saved_aggregate_and_equals_one_loaded_from_the_store(
    company: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = RotationApplication.SNAPSHOT_INTERVAL
    app = company.app
    assert app.snapshots is not None
    loads: list[UUID] = []
    real_get = app.repository.get

    def counting_get(aggregate_id: UUID, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("version") is not None:  # how eventsourcing's take_snapshot loads
            loads.append(aggregate_id)
        return real_get(aggregate_id, *args, **kwargs)

    before: Any = company.get(PROGRAM_ID)
    assert before.version < interval  # the loop below brings it to the interval
    monkeypatch.setattr(app.repository, "get", counting_get)
    with company.acting_as(CIO):
        for n in range(interval):
            company.set_policy(max_concurrent=4 + n % 2)
    program: Any = company.get(PROGRAM_ID)
    assert program.version >= interval
    assert loads == []  # the snapshot was taken without loading the Program again
    (taken,) = [s for s in app.snapshots.get(PROGRAM_ID) if s.originator_version == interval]
    monkeypatch.undo()
    loaded = app.repository.get(PROGRAM_ID, version=interval)
    from_store = type(loaded).Snapshot.take(loaded)
    assert taken.topic == from_store.topic
    assert taken.state == from_store.state


# Store URLs.


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/rotation",
        "memory",
        "sqlite://rotation.db",
        "sqlite:rotation.db",
        "sqlite:///",
        "postgresql://127.0.0.1",
        "postgresql:///test",
        "file:///tmp/rotation.db",
    ],
)
def test_a_store_url_the_library_does_not_understand_is_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        open_program(url)
    assert refused.value.details["url"] == url
    assert url in str(refused.value)


def test_open_program_without_a_url_uses_the_rotation_store_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROTATION_STORE", "sqlite:///chosen.db")
    with open_program() as program:
        program.register_department("FIN", name="Finance", actor=CIO)
    assert (tmp_path / "chosen.db").exists()
    assert not (tmp_path / "rotation.db").exists()
    with open_program(f"sqlite:///{tmp_path / 'chosen.db'}") as reopened:
        assert reopened.get(Department.id_for("FIN")).name == "Finance"


def test_open_program_with_a_url_ignores_the_rotation_store_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROTATION_STORE", "sqlite:///chosen.db")
    with open_program("sqlite:///given.db") as program:
        program.register_department("FIN", name="Finance", actor=CIO)
    assert (tmp_path / "given.db").exists()
    assert not (tmp_path / "chosen.db").exists()


def test_open_program_refuses_a_rotation_store_variable_it_does_not_understand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROTATION_STORE", "mysql://root@localhost/rotation")
    with pytest.raises(InvalidInput):
        open_program()
    assert list(tmp_path.iterdir()) == []


def test_open_program_without_a_url_or_variable_uses_rotation_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROTATION_STORE", raising=False)
    assert DEFAULT_STORE == "sqlite:///rotation.db"
    with open_program() as program:
        program.register_department("FIN", name="Finance", actor=CIO)
    assert (tmp_path / "rotation.db").exists()
    with open_program(f"sqlite:///{tmp_path / 'rotation.db'}") as reopened:
        assert reopened.get(Department.id_for("FIN")).name == "Finance"
