"""Commands read cached aggregates optimistically; a copy changed elsewhere is never trusted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from adapters import audit_chain
from rotation_domain import (
    DepartmentRecord,
    DirectorySnapshot,
    Employee,
    InvalidTransition,
    OutsideRotationWindow,
    PersonRecord,
    RotationProgram,
    open_program,
)
from rotation_domain.log_head import HeadMoved

START, END = date(2027, 1, 4), date(2027, 1, 29)


def two_programs(
    path: Path, seed: Callable[[RotationProgram], None]
) -> tuple[RotationProgram, RotationProgram]:
    first = open_program(f"sqlite:///{path}", today=lambda: START)
    seed(first)
    second = open_program(f"sqlite:///{path}", today=lambda: START)
    return first, second


def test_a_command_refused_on_a_stale_copy_is_run_again_on_fresh_state(
    tmp_path: Path, seed: Callable[[RotationProgram], None]
) -> None:
    first, second = two_programs(tmp_path / "r.db", seed)
    with first, second:
        with first.acting_as("cio@example.com"):
            rotation = first.plan_rotation("E1", host_department="FIN", start=START, end=END)
            mentorship = first.nominate_mentor(rotation, mentor="M1")
            first.accept_mentorship(mentorship)
        assert first.get(rotation).status == "planned"  # cached by the first program
        second.start_rotation(rotation, on=START, actor="cio@example.com")

        first.record_observation(rotation, "seen on fresh state", actor="E1")

        assert second.get(rotation).observations[0].text == "seen on fresh state"


def test_a_command_accepted_on_a_stale_copy_is_refused_on_fresh_state(
    tmp_path: Path, seed: Callable[[RotationProgram], None]
) -> None:
    first, second = two_programs(tmp_path / "r.db", seed)
    with first, second:
        with first.acting_as("cio@example.com"):
            rotation = first.plan_rotation("E1", host_department="FIN", start=START, end=END)
            mentorship = first.nominate_mentor(rotation, mentor="M1")
            first.accept_mentorship(mentorship)
            first.start_rotation(rotation, on=START)
        second.cancel_rotation(rotation, reason="budget", actor="cio@example.com")

        with pytest.raises(InvalidTransition, match="cancelled"):
            first.record_observation(rotation, "too late", actor="E1")


def test_a_rule_read_from_a_stale_copy_is_checked_again_before_saving(
    tmp_path: Path, seed: Callable[[RotationProgram], None]
) -> None:
    first, second = two_programs(tmp_path / "r.db", seed)
    with first, second:
        assert first.get(Employee.id_for("E2")).active  # now cached by the first program
        second.depart_employee("E2", on=START, actor="cio")

        with pytest.raises(InvalidTransition, match="departed"):
            first.plan_rotation(
                "E2",
                host_department="OPS",
                start=date(2027, 3, 1),
                end=date(2027, 3, 5),
                actor="cio",
            )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store two programs can share: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


def test_a_copy_only_read_is_proved_current_by_the_saving_transaction(
    shared_url: str, seed: Callable[[RotationProgram], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    moved: list[str] = []
    checked = audit_chain.check_expected_head

    def spied(head: int, kwargs: dict[str, object]) -> None:
        try:
            checked(head, kwargs)
        except HeadMoved as error:
            moved.append(str(error))
            raise

    monkeypatch.setattr(audit_chain, "check_expected_head", spied)
    first = open_program(shared_url, today=lambda: START)
    seed(first)
    second = open_program(shared_url, today=lambda: START)
    with first, second:
        with first.acting_as("cio@example.com"):
            rotation = first.plan_rotation("E1", host_department="FIN", start=START, end=END)
            mentorship = first.nominate_mentor(rotation, mentor="M1")
            first.accept_mentorship(mentorship)
            first.start_rotation(rotation, on=START)
            first.hold_mentor_session(mentorship, kind="reading", on=START, topic="before")
        assert not moved, "nothing else was recorded: the cached reads were current"
        # The rotation, which a session only reads, ends earlier now.
        second.reschedule_rotation(
            rotation, start=START, end=date(2027, 1, 15), actor="cio@example.com"
        )

        with pytest.raises(OutsideRotationWindow, match=r"window 2027-01-04\.\.2027-01-15"):
            first.hold_mentor_session(
                mentorship, kind="reading", on=date(2027, 1, 20), topic="after", actor="M1"
            )

        assert len(moved) == 1, "the stale read was caught when saving, then run on fresh state"
        assert [s.topic for s in second.get(mentorship).sessions] == ["before"]


def _directory(names: dict[str, str]) -> DirectorySnapshot:
    """The seeded company as an HRIS lists it, with some people's names replaced."""
    departments = (
        DepartmentRecord("IT", "Information Technology", is_it=True),
        DepartmentRecord("ITOPS", "IT Operations", is_it=True),
        DepartmentRecord("FIN", "Finance"),
        DepartmentRecord("OPS", "Operations"),
        DepartmentRecord("HR", "Human Resources"),
    )
    people = [
        PersonRecord(
            f"E{n}",
            names.get(f"E{n}", f"Engineer {n}"),
            f"e{n}@example.com",
            "IT" if n <= 4 else "ITOPS",
            manager="E0",
        )
        for n in range(1, 7)
    ]
    people += [
        PersonRecord(code, f"Mentor {code}", f"{code.lower()}@example.com", department)
        for code, department in (("M1", "FIN"), ("M2", "FIN"), ("M3", "OPS"), ("M4", "HR"))
    ]
    return DirectorySnapshot(departments, people)


def test_a_command_that_records_nothing_still_checks_what_it_read(
    shared_url: str, seed: Callable[[RotationProgram], None]
) -> None:
    """Nothing is saved, so no transaction can prove the reads: they are checked one by one."""
    first = open_program(shared_url, today=lambda: START)
    seed(first)
    second = open_program(shared_url, today=lambda: START)
    with first, second:
        assert first.sync_directory(_directory({}), actor="hr").events_recorded == 0  # cached
        renamed = second.sync_directory(_directory({"E1": "Engineer One"}), actor="hr")
        assert renamed.details_changed == ("E1",)

        # The first program's copy of E1 still has the old name, which the source lists.
        report = first.sync_directory(_directory({}), actor="hr")

        assert report.details_changed == ("E1",), "decided on the stored name, not the cached"
        assert second.get(Employee.id_for("E1")).name == "Engineer 1"
