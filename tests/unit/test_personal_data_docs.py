"""docs/privacy.md and docs/events.md list exactly the personal fields the code declares."""

from __future__ import annotations

import re
from pathlib import Path

from eventsourcing.domain import CanMutateAggregate

from rotation_domain import Employee, Improvement, Mentorship, Program, Rotation
from rotation_domain.personal_data import ORIGINATOR, personal_fields

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROW = re.compile(r"^\| `(?P<event>\w+)` \| (?P<fields>`[^|]+) \| (?P<whose>[^|]+) \|$")
WHOSE = {
    ORIGINATOR: "the employee",
    "employee": "the exempted employee",
    None: "the rotation's participant",
}


def declared() -> dict[str, tuple[tuple[str, ...], str]]:
    """Each event class with personal fields: its fields, and whose they are (as the docs say)."""
    found = {}
    for aggregate in (Program, Employee, Rotation, Mentorship, Improvement):
        for name, cls in vars(aggregate).items():
            if isinstance(cls, type) and issubclass(cls, CanMutateAggregate) and name != "Created":
                fields = personal_fields(cls)
                if fields:
                    subject = getattr(cls, "DATA_SUBJECT", None)
                    found[name] = (fields, WHOSE.get(subject, "the rotation's participant"))
    return found


def documented(page: str) -> dict[str, tuple[tuple[str, ...], str]]:
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index("| event | personal fields | whose |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        match = ROW.match(line)
        if match is None:
            break
        fields = tuple(f.strip().strip("`") for f in match["fields"].split(","))
        rows[match["event"]] = (fields, match["whose"].strip())
    return rows


def test_the_privacy_page_lists_every_personal_field_the_events_declare() -> None:
    assert documented("privacy.md") == declared()


def test_the_event_catalog_lists_every_personal_field_the_events_declare() -> None:
    assert documented("events.md") == declared()


def test_employee_snapshots_seal_what_the_employee_events_seal() -> None:
    assert personal_fields(Employee) == ("name", "email")
    assert personal_fields(Employee.EmployeeRegistered) == personal_fields(Employee)
