"""Exports: JSON Lines and CSV in a documented, versioned format, filtered like timelines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from rotation_domain import InvalidInput, RotationProgram
from rotation_domain.audit import EXPORT_COLUMNS, EXPORT_FORMAT_VERSION


def plan(program: RotationProgram) -> None:
    with program.acting_as("cio@example.com"):
        program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 3, 8), end=date(2027, 3, 26)
        )


def test_a_jsonl_export_has_a_header_one_line_per_event_and_a_trailer(
    company: RotationProgram,
) -> None:
    plan(company)
    out = io.StringIO()
    count = company.export_audit(out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    header, *events, trailer = lines
    assert header["record"] == "header"
    assert header["format"] == "rotation-domain/audit-export"
    assert header["format_version"] == EXPORT_FORMAT_VERSION == 1
    assert header["columns"] == list(EXPORT_COLUMNS)
    assert header["filter"] == {}
    assert count == len(events) == company.app.recorder.max_notification_id()
    assert trailer == {"record": "end", "events": count, "last_position": events[-1]["position"]}
    assert all(list(e) == ["record", *EXPORT_COLUMNS] for e in events)
    planned = next(e for e in events if e["event_type"] == "RotationPlanned")
    assert planned["business_date"] == "2027-03-08"
    assert planned["data"]["participant"] == "E1"
    assert planned["topic"] == "rotation_domain:RotationPlanned"


def test_a_filtered_export_names_its_filter(company: RotationProgram) -> None:
    plan(company)
    out = io.StringIO()
    count = company.export_audit(out, employee="E1", event_types=["RotationPlanned"])
    header, *events, trailer = [json.loads(line) for line in out.getvalue().splitlines()]
    assert header["filter"] == {
        "employee": "E1",
        "event_types": ["rotation_domain:RotationPlanned"],
    }
    assert count == 1
    assert events[0]["event_type"] == "RotationPlanned"
    assert trailer["events"] == 1


def test_a_csv_export_has_the_documented_columns_and_the_format_version_on_each_row(
    company: RotationProgram,
) -> None:
    plan(company)
    out = io.StringIO(newline="")
    count = company.export_audit(out, format="csv", actor="cio@example.com")
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert count == len(rows) > 0
    assert list(rows[0]) == ["format_version", *EXPORT_COLUMNS]
    assert {r["format_version"] for r in rows} == {"1"}
    assert {r["actor"] for r in rows} == {"cio@example.com"}
    planned = next(r for r in rows if r["event_type"] == "RotationPlanned")
    assert json.loads(planned["data"])["host_department"] == "FIN"
    registered = next(r for r in rows if r["event_type"] == "DepartmentRegistered")
    assert registered["business_date"] == ""


def test_an_unknown_format_or_criterion_is_refused(company: RotationProgram) -> None:
    with pytest.raises(InvalidInput, match="jsonl or csv"):
        company.export_audit(io.StringIO(), format="xml")
    with pytest.raises(InvalidInput, match="criterion"):
        company.export_audit(io.StringIO(), colour="red")
