from __future__ import annotations

import pytest
from rotation_domain import RotationProgram
from rotation_domain.errors import CommandVetoed
from rotation_domain.testing import (
    RegisterPlugin,
    command,
    expect_view,
    given,
    plan,
    rotation_in_progress,
    small_company,
)

import rotation_example_plugin
from rotation_example_plugin import WEEKDAY_STARTS

SATURDAY = "2027-01-09"
MONDAY = "2027-01-11"


@pytest.fixture
def program(register_plugin: RegisterPlugin, monkeypatch: pytest.MonkeyPatch) -> RotationProgram:
    monkeypatch.delenv(WEEKDAY_STARTS, raising=False)
    return register_plugin(rotation_example_plugin)


def observe(rotation: object, text: str, by: str) -> object:
    return command("record_observation", rotation, text, actor=by)


def test_observations_are_listed_by_host_department_oldest_first(
    program: RotationProgram,
) -> None:
    _, fin, ops = given(
        program,
        small_company,
        rotation_in_progress("E1", "FIN", "M1"),
        rotation_in_progress("E2", "OPS", "M2"),
    )

    given(
        program,
        observe(fin, "Invoices are re-keyed by hand", by="E1"),
        observe(ops, "Shift rosters live in a spreadsheet", by="E2"),
        observe(fin, "Month-end close waits on a nightly export", by="E1"),
    )

    assert expect_view(program, "observations_by_department", "FIN") == (
        "Invoices are re-keyed by hand",
        "Month-end close waits on a nightly export",
    )
    assert expect_view(program, "observations_by_department.all") == {
        "FIN": (
            "Invoices are re-keyed by hand",
            "Month-end close waits on a nightly export",
        ),
        "OPS": ("Shift rosters live in a spreadsheet",),
    }


def test_a_department_without_observations_has_none(program: RotationProgram) -> None:
    given(program, small_company, plan("E1", "FIN"))

    assert expect_view(program, "observations_by_department", "FIN") == ()
    assert expect_view(program, "observations_by_department.all") == {}


def test_a_department_code_that_starts_like_another_is_kept_apart(
    program: RotationProgram,
) -> None:
    given(program, small_company, ("register_department", "FIN/AP", {"name": "Payables"}))
    given(
        program,
        command("register_employee", "M3", name="M3", email="m3@x.com", department="FIN/AP"),
    )
    _, payables = given(
        program, rotation_in_progress("E1", "FIN", "M1"), rotation_in_progress("E2", "FIN/AP", "M3")
    )
    given(program, observe(payables, "Supplier bank details are e-mailed", by="E2"))

    assert expect_view(program, "observations_by_department", "FIN") == ()
    assert expect_view(program, "observations_by_department", "FIN/AP") == (
        "Supplier bank details are e-mailed",
    )


def test_a_rebuild_gives_the_same_answer(program: RotationProgram) -> None:
    _, rotation = given(program, small_company, rotation_in_progress("E1", "FIN", "M1"))
    given(program, observe(rotation, "Invoices are re-keyed by hand", by="E1"))
    before = expect_view(program, "observations_by_department.all")

    program.rebuild("observations_by_department")

    assert expect_view(program, "observations_by_department.all") == before


def test_a_weekend_start_is_allowed_unless_the_rule_is_on(program: RotationProgram) -> None:
    _, rotation = given(
        program, small_company, rotation_in_progress("E1", "FIN", "M1", start=SATURDAY)
    )

    assert program.get(rotation).status == "in-progress"


def test_with_the_rule_on_a_rotation_may_not_start_on_a_weekend(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEEKDAY_STARTS, "1")
    _, rotation = given(program, small_company, plan("E1", "FIN", start=SATURDAY))
    (mentorship,) = given(program, command("nominate_mentor", rotation, mentor="M1"))
    given(program, command("accept_mentorship", mentorship, actor="M1"))

    with pytest.raises(CommandVetoed) as refused:
        given(program, command("start_rotation", rotation, on=SATURDAY))

    assert refused.value.details["reason"] == (
        "rotations start on a weekday, and 2027-01-09 is a Saturday"
    )
    assert program.get(rotation).status == "planned"
    given(program, command("start_rotation", rotation, on=MONDAY))
    assert program.get(rotation).status == "in-progress"


def test_register_plugin_blocks_the_installed_entry_point_so_the_plugin_loads_once(
    program: RotationProgram,
) -> None:
    plugins = {info.name: info for info in program.plugins()}

    assert plugins["rotation_example_plugin"].status == "active"
    assert plugins["example"].status == "blocked"


def test_the_installed_entry_point_loads_the_plugin_as_example(
    rotation_program: RotationProgram,
) -> None:
    example = next(info for info in rotation_program.plugins() if info.name == "example")

    assert (example.source, example.status, example.version) == ("entry-point", "active", "0.1.0")
    assert example.hooks == ("rotation_validate_command", "rotation_views")
    assert "observations_by_department" in rotation_program.views.names()
