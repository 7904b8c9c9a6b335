"""The directory commands (``department``, ``employee``, ``directory import``) and an
authorization plugin refusing a command (exit 5), run as a user would."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
from e2e_cli import Cli


def test_departments_and_employees_are_registered_transferred_and_departed(cli: Cli) -> None:
    cli.ok("init", "--it-department", "IT", actor="cio")
    cli.ok("department", "add", "FIN", "--name", "Finance", actor="cio")
    cli.ok("department", "add", "DATA", "--name", "Data team", "--it", actor="cio")
    cli.ok(
        "employee",
        "add",
        "E1",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
        "--department",
        "IT",
        actor="cio",
    )
    assert "InvalidTransition" in cli.refused(
        6, "department", "add", "FIN", "--name", "Finance again", actor="cio"
    )
    assert "UnknownDepartment" in cli.refused(
        3,
        "employee",
        "add",
        "E2",
        "--name",
        "Bo",
        "--email",
        "bo@example.com",
        "--department",
        "NOPE",
        actor="cio",
    )

    cli.ok("employee", "transfer", "E1", "--to", "DATA", "--on", "2027-03-01", actor="cio")
    assert cli.json("employee", "show", "E1")["department"] == "DATA"
    cli.ok("employee", "depart", "E1", "--on", "2027-06-30", actor="cio")
    shown = cli.json("employee", "show", "E1")
    assert (shown["name"], shown["active"]) == ("Ada", False)
    assert "UnknownEmployee" in cli.refused(3, "employee", "show", "E404")


def test_an_employee_is_forgotten_once_and_reads_as_forgotten(cli: Cli) -> None:
    cli.ok("init", "--it-department", "IT", actor="cio")
    cli.ok(
        "employee", "add", "E1", "--name", "Ada", "--email", "ada@example.com",
        "--department", "IT", actor="cio",
    )  # fmt: skip

    cli.ok("employee", "forget", "E1", "--reason", "erasure request 2027-9", actor="cio")

    shown = cli.json("employee", "show", "E1")
    assert (shown["name"], shown["email"]) == ("[forgotten]", "[forgotten]")
    assert "AlreadyForgotten" in cli.refused(
        6, "employee", "forget", "E1", "--reason", "again", actor="cio"
    )
    assert cli("verify").returncode == 0


def test_directory_import_without_a_source_is_refused_as_invalid_input(cli: Cli) -> None:
    cli.ok("init")

    line = cli.refused(
        2, "directory", "import", actor="cio", env={"ROTATION_DISABLE_PLUGINS": "hris"}
    )

    assert "no plugin offers a directory source" in line


@pytest.mark.skipif(
    importlib.util.find_spec("rotation_hris") is None,
    reason="the rotation-hris plugin (plugins/rotation-hris) is not installed",
)
def test_directory_import_from_a_csv_registers_the_people_and_a_second_import_changes_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    export = tmp_path / "people.csv"
    export.write_text(
        "employee_number,name,email,department\n"
        "E1,Ada Lovelace,ada@example.com,IT\n"
        "E2,Alan Turing,alan@example.com,IT\n"
        "M1,Grace Hopper,grace@example.com,FIN\n",
        encoding="utf-8",
    )

    report = cli.json(
        "directory", "import", "--csv", str(export), "--it-departments", "IT", actor="hris"
    )

    assert report["source"] == "csv"
    assert sorted(report["departments_registered"]) == ["FIN", "IT"]
    assert sorted(report["employees_registered"]) == ["E1", "E2", "M1"]
    assert cli.json("employee", "show", "M1")["department"] == "FIN"
    again = cli.json(
        "directory", "import", "--csv", str(export), "--it-departments", "IT", actor="hris"
    )
    assert again["events_recorded"] == 0


@pytest.mark.skipif(
    importlib.util.find_spec("rotation_hris") is None,
    reason="the rotation-hris plugin (plugins/rotation-hris) is not installed",
)
def test_a_csv_with_a_bad_row_is_refused_with_exit_7_and_records_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    export = tmp_path / "people.csv"
    export.write_text(
        "employee_number,name,email,department\nE1,Ada,not-an-email,IT\n", encoding="utf-8"
    )
    cli.ok("init")

    line = cli.refused(7, "directory", "import", "--csv", str(export), actor="hris")

    assert "CsvValidationError" in line
    assert "nothing was applied" in line


@pytest.fixture
def interns_refused(tmp_path: Path) -> dict[str, str]:
    """An installed plugin (a dist-info on PYTHONPATH) that refuses every intern's command."""
    site = tmp_path / "site"
    (site / "refuse_interns-1.0.dist-info").mkdir(parents=True)
    (site / "refuse_interns.py").write_text(
        textwrap.dedent(
            """
            from rotation_domain import hookimpl

            @hookimpl
            def rotation_authorize(action, actor, context):
                return False if actor.startswith("intern") else None
            """
        ),
        encoding="utf-8",
    )
    info = site / "refuse_interns-1.0.dist-info"
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: refuse-interns\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[rotation_domain]\nrefuse_interns = refuse_interns\n", encoding="utf-8"
    )
    return {"PYTHONPATH": str(site)}


def test_a_command_an_authorization_plugin_refuses_exits_with_5(
    company: Cli, interns_refused: dict[str, str]
) -> None:
    line = company.refused(
        5,
        "department",
        "add",
        "LEG",
        "--name",
        "Legal",
        actor="intern@example.com",
        env=interns_refused,
    )

    assert line.startswith("rotation department add: refused: NotAuthorized:")
    assert "intern@example.com may not register department" in line
    company.ok("department", "add", "LEG", "--name", "Legal", actor="cio", env=interns_refused)
