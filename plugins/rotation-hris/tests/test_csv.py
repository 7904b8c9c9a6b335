"""CSV sync: a column mapping, change-only semantics, and a report of every bad row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rotation_domain import (
    DirectorySourceError,
    Employee,
    InvalidInput,
    RotationProgram,
    Transfer,
    open_program,
)
from rotation_domain.testing import RegisterPlugin

import rotation_hris
from rotation_hris import CsvProblem, CsvSource, CsvValidationError, HrisSettings

COLUMNS = (
    "code=Personnel No,name=Full Name,email=Work Mail,department=Dept,"
    "department_name=Dept Name,manager=Manager,active=Status"
)
HEADER = "Personnel No;Full Name;Work Mail;Dept;Dept Name;Manager;Status\n"
ROWS = [
    "E1;Ada Lovelace;ada@example.com;IT;Information Technology;;active",
    "E2;Grace Hopper;grace@example.com;IT;Information Technology;E1;active",
    "M1;Mary Jackson;mary@example.com;FIN;Finance;;active",
    "X1;Gone Already;gone@example.com;FIN;Finance;;inactive",
]


def write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def source(path: Path) -> CsvSource:
    settings = HrisSettings.from_settings(
        {
            "ROTATION_HRIS_CSV": str(path),
            "ROTATION_HRIS_CSV_COLUMNS": COLUMNS,
            "ROTATION_HRIS_CSV_DELIMITER": ";",
            "ROTATION_HRIS_IT_DEPARTMENTS": "IT",
        }
    )
    [csv_source] = rotation_hris.sources_for(settings)
    assert isinstance(csv_source, CsvSource)
    return csv_source


def head(program: RotationProgram) -> int:
    return program.app.recorder.max_notification_id() or 0


@pytest.fixture
def program(store_url: str) -> Iterator[RotationProgram]:
    with open_program(store_url, today=lambda: date(2027, 1, 1)) as opened:
        yield opened


def test_a_mapped_csv_is_synced_and_a_second_sync_records_nothing(
    program: RotationProgram, tmp_path: Path
) -> None:
    export = write(tmp_path / "hr.csv", ROWS)

    report = program.sync_directory(source(export), actor="hr@x")

    assert report.departments_registered == ("FIN", "IT")
    assert report.employees_registered == ("E1", "E2", "M1")
    grace = program.get(Employee.id_for("E2"))
    assert (grace.name, grace.email, grace.department, grace.manager) == (
        "Grace Hopper",
        "grace@example.com",
        "IT",
        "E1",
    )
    assert program.get(Employee.id_for("E1")).department == "IT"
    before = head(program)
    assert program.sync_directory(source(export), actor="hr@x").events_recorded == 0
    assert head(program) == before


def test_a_changed_export_records_only_the_changes(
    program: RotationProgram, tmp_path: Path
) -> None:
    export = write(tmp_path / "hr.csv", ROWS)
    program.sync_directory(source(export), actor="hr@x")
    before = head(program)
    write(
        export,
        [
            "E1;Ada Lovelace;ada@example.com;FIN;Finance;;active",
            "E2;Grace Hopper;grace@example.com;IT;Information Technology;E1;no",
            "E3;Katherine Johnson;kj@example.com;IT;Information Technology;E1;",
        ],
    )

    report = program.sync_directory(source(export), on="2027-02-01", actor="hr@x")

    assert report.transferred == (Transfer("E1", "IT", "FIN"),)
    assert report.departed == ("E2", "M1")
    assert report.employees_registered == ("E3",)
    assert report.details_changed == ()
    assert report.events_recorded == head(program) - before == 4


def test_a_bad_file_is_reported_row_by_row_and_column_by_column_and_nothing_applied(
    program: RotationProgram, tmp_path: Path
) -> None:
    export = write(
        tmp_path / "hr.csv",
        [
            *ROWS,
            "E5;;not-an-email;IT;Information Technology;;active",
            "E6;Sixth;six@example.com;;;;maybe",
            "E1;Again;again@example.com;IT;Information Technology;;",
            "E7;Seven;seven@example.com;FIN;Money;;",
        ],
    )

    with pytest.raises(CsvValidationError) as error:
        program.sync_directory(source(export), actor="hr@x")

    assert head(program) == 0
    assert error.value.problems == (
        CsvProblem(6, "Full Name", "the name is empty"),
        CsvProblem(6, "Work Mail", "'not-an-email' is not an e-mail address"),
        CsvProblem(7, "Dept", "the department is empty"),
        CsvProblem(7, "Status", "'maybe' is not one of true/false/yes/no"),
        CsvProblem(8, "Personnel No", "'E1' is already on line 2"),
        CsvProblem(9, "Dept Name", "department FIN is named 'Finance' on line 4, 'Money' here"),
    )
    message = str(error.value)
    assert "has 6 problem(s) on 4 line(s); nothing was applied" in message
    assert "line 6, column 'Work Mail': 'not-an-email' is not an e-mail address" in message


def test_a_missing_column_is_reported_before_any_row(tmp_path: Path) -> None:
    export = write(
        tmp_path / "hr.csv", ROWS, header="Personnel No;Full Name;Dept;Dept Name;Manager;Status\n"
    )
    with pytest.raises(CsvValidationError) as error:
        source(export).read()
    assert error.value.problems == (CsvProblem(1, "Work Mail", "the email column is missing"),)


def test_default_columns_and_an_unreadable_file(tmp_path: Path) -> None:
    export = tmp_path / "plain.csv"
    export.write_text(
        "employee_number,name,email,department\nE1,Ada,ada@example.com,IT\n", encoding="utf-8"
    )
    snapshot = CsvSource(export, it_departments=["IT"]).read()
    assert [(p.code, p.active, p.manager) for p in snapshot.people] == [("E1", True, None)]
    assert [(d.code, d.name, d.is_it) for d in snapshot.departments] == [("IT", "IT", True)]
    with pytest.raises(DirectorySourceError, match="cannot be read"):
        CsvSource(tmp_path / "missing.csv").read()


def test_bad_settings_are_named() -> None:
    with pytest.raises(InvalidInput, match="unknown field 'phone'"):
        HrisSettings.from_settings({"ROTATION_HRIS_CSV_COLUMNS": "phone=Tel"})
    with pytest.raises(InvalidInput, match="ROTATION_SCIM_TIMEOUT_SECONDS must be a number"):
        HrisSettings.from_settings({"ROTATION_SCIM_TIMEOUT_SECONDS": "soon"})
    with pytest.raises(InvalidInput, match="ROTATION_SCIM_TOKEN is not"):
        HrisSettings.from_settings({"ROTATION_SCIM_URL": "https://hris.example.com/scim/v2"})
    settings = HrisSettings.from_settings(
        {"ROTATION_SCIM_URL": "https://hris.example.com/scim/v2", "ROTATION_SCIM_TOKEN": "s3cr3t"}
    )
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in repr(rotation_hris.sources_for(settings))


def test_the_plugin_offers_the_csv_source_from_the_settings(
    register_plugin: RegisterPlugin, tmp_path: Path
) -> None:
    export = write(tmp_path / "hr.csv", ROWS)
    program = register_plugin(
        rotation_hris,
        settings={
            "ROTATION_HRIS_CSV": str(export),
            "ROTATION_HRIS_CSV_COLUMNS": COLUMNS,
            "ROTATION_HRIS_CSV_DELIMITER": ";",
        },
    )
    assert [s.name for s in program.directory_sources()] == ["csv"]
    assert program.sync_directory(actor="hr@x").employees_registered == ("E1", "E2", "M1")
