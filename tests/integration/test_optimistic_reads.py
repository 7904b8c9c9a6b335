"""Commands read cached aggregates optimistically; a copy changed elsewhere is never trusted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from rotation_domain import Employee, InvalidTransition, RotationProgram, open_program

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
