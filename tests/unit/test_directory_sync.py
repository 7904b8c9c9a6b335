"""Directory sync: only what changed is recorded, in one transaction, and R10 follows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest

from rotation_domain import (
    CommandVetoed,
    DepartmentRecord,
    DirectorySnapshot,
    DirectorySourceError,
    Employee,
    InvalidInput,
    MentorshipStatus,
    NotAuthorized,
    PersonRecord,
    RotationProgram,
    RotationStatus,
    SyncReport,
    Transfer,
    hookimpl,
    open_program,
)
from rotation_domain.employee import Employee as EmployeeClass

START, END = date(2027, 1, 4), date(2027, 1, 29)
Count = Callable[[RotationProgram], int]
Seed = Callable[[RotationProgram], None]

DEPARTMENTS = (
    DepartmentRecord("IT", "Information Technology", is_it=True),
    DepartmentRecord("ITOPS", "IT Operations", is_it=True),
    DepartmentRecord("FIN", "Finance"),
    DepartmentRecord("OPS", "Operations"),
    DepartmentRecord("HR", "Human Resources"),
)


def company_people() -> list[PersonRecord]:
    """The people of tests/conftest.py's seed_company, as an HRIS would list them."""
    people = [
        PersonRecord(
            f"E{n}",
            f"Engineer {n}",
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
    return people


def snapshot(people: Sequence[PersonRecord] | None = None) -> DirectorySnapshot:
    return DirectorySnapshot(DEPARTMENTS, company_people() if people is None else people)


def replaced(code: str, **changes: Any) -> list[PersonRecord]:
    return [attrs.evolve(p, **changes) if p.code == code else p for p in company_people()]


def without(code: str) -> list[PersonRecord]:
    return [p for p in company_people() if p.code != code]


def topics_since(program: RotationProgram, position: int) -> list[str]:
    page = program.app.recorder.select_notifications(start=position + 1, limit=1000)
    return [n.topic.split(":")[-1] for n in page]


def head(program: RotationProgram) -> int:
    return program.app.recorder.max_notification_id() or 0


class Source:
    """A directory source for tests: reads a snapshot, or fails as told."""

    def __init__(self, name: str, read: Callable[[], DirectorySnapshot]) -> None:
        self.name = name
        self._read = read

    def read(self) -> DirectorySnapshot:
        return self._read()


# ---------------------------------------------------------------- what a sync records


def test_a_first_sync_registers_every_department_and_active_person(
    program: RotationProgram,
) -> None:
    people = [*company_people(), PersonRecord("X1", "Gone", "x1@example.com", "HR", active=False)]

    report = program.sync_directory(snapshot(people), actor="hr@example.com")

    assert report.departments_registered == ("IT", "ITOPS", "FIN", "OPS", "HR")
    assert report.employees_registered == tuple(p.code for p in company_people())
    assert (report.transferred, report.departed, report.details_changed) == ((), (), ())
    assert report.events_recorded == 15 == head(program)
    assert report.counts()["employees_registered"] == 10
    e1 = program.get(EmployeeClass.id_for("E1"))
    assert (e1.name, e1.email, e1.department, e1.manager) == (
        "Engineer 1",
        "e1@example.com",
        "IT",
        "E0",
    )
    assert program.get(EmployeeClass.id_for("E1")).active


def test_a_second_sync_of_the_same_directory_records_nothing(company: RotationProgram) -> None:
    before = head(company)

    report = company.sync_directory(snapshot(), actor="hr@example.com")

    assert report == SyncReport(source="snapshot")
    assert not report.changed
    assert report.summary() == "snapshot: no change"
    assert head(company) == before


def test_a_new_hire_is_registered_and_nothing_else(company: RotationProgram) -> None:
    before = head(company)
    hire = PersonRecord("E7", "Engineer 7", "e7@example.com", "IT", manager="E1")

    report = company.sync_directory(snapshot([*company_people(), hire]), actor="hr@x")

    assert report.employees_registered == ("E7",)
    assert topics_since(company, before) == ["EmployeeRegistered"]


def test_a_new_name_email_or_manager_is_recorded_as_details_changed(
    company: RotationProgram,
) -> None:
    before = head(company)
    people = replaced("E2", name="Engineer Two", email="two@example.com", manager=None)

    report = company.sync_directory(snapshot(people), actor="hr@x")

    assert report.details_changed == ("E2",)
    assert topics_since(company, before) == ["EmployeeDetailsChanged"]
    e2 = company.get(EmployeeClass.id_for("E2"))
    assert (e2.name, e2.email, e2.manager) == ("Engineer Two", "two@example.com", None)
    assert company.sync_directory(snapshot(people), actor="hr@x").events_recorded == 0


def test_a_forgotten_person_still_in_the_source_is_noted_not_recorded_again(
    company: RotationProgram,
) -> None:
    company.forget_employee("E2", reason="erasure request 2027-3", actor="cio@example.com")
    before = head(company)

    report = company.sync_directory(snapshot(), actor="hr@x")

    assert report.details_changed == ()
    assert report.notes == (
        "employee E2 was forgotten: a sync does not record their name, e-mail address or "
        "manager again",
    )
    assert head(company) == before
    moved = replaced("E2", department="ITOPS")
    assert company.sync_directory(snapshot(moved), actor="hr@x").transferred[0].employee == "E2"


def test_a_person_in_another_department_is_transferred_on_the_sync_date(
    company: RotationProgram,
) -> None:
    before = head(company)

    report = company.sync_directory(
        snapshot(replaced("E5", department="IT")), on="2027-02-01", actor="hr@x"
    )

    assert report.transferred == (Transfer("E5", "ITOPS", "IT"),)
    assert report.consequences == ()
    [event] = [
        e for e in company.app.events.get(EmployeeClass.id_for("E5")) if e.originator_version > 1
    ]
    assert isinstance(event, Employee.EmployeeTransferred)
    assert (event.from_department, event.to_department, event.on) == (
        "ITOPS",
        "IT",
        date(2027, 2, 1),
    )
    assert topics_since(company, before) == ["EmployeeTransferred"]


def test_a_person_missing_from_the_source_or_inactive_departs_with_the_sync_reason(
    company: RotationProgram,
) -> None:
    people = [
        attrs.evolve(p, active=False) if p.code == "E3" else p
        for p in company_people()
        if p.code != "E4"
    ]

    report = company.sync_directory(snapshot(people), on="2027-01-02", actor="hr@x")

    assert report.departed == ("E3", "E4")
    for code in ("E3", "E4"):
        employee = company.get(EmployeeClass.id_for(code))
        assert not employee.active
        [departure] = [
            e
            for e in company.app.events.get(EmployeeClass.id_for(code))
            if isinstance(e, Employee.EmployeeDeparted)
        ]
        assert departure.reason == "left the company (HRIS sync)"
        assert departure.on == date(2027, 1, 2)
    assert company.sync_directory(snapshot(people), actor="hr@x").events_recorded == 0


# ---------------------------------------------------------------- R10 through a sync


def test_a_participant_who_leaves_through_a_sync_has_the_planned_rotation_cancelled(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        rotation = company.plan_rotation("E1", host_department="FIN", start=START, end=END)
        mentorship = company.nominate_mentor(rotation, mentor="M1")

    report = company.sync_directory(snapshot(without("E1")), on="2027-01-02", actor="hr@x")

    assert company.get(rotation).status is RotationStatus.CANCELLED
    assert company.get(mentorship).status is MentorshipStatus.RELEASED
    kinds = {(c.kind, c.id) for c in report.consequences}
    assert kinds == {("rotation cancelled", rotation), ("mentorship released", mentorship)}
    [cancelled] = [c for c in report.consequences if c.kind == "rotation cancelled"]
    assert "E1 left the company on 2027-01-02 (left the company (HRIS sync))" in cancelled.reason


def test_a_participant_moved_out_of_it_mid_rotation_has_the_rotation_flagged(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        rotation = company.plan_rotation("E1", host_department="FIN", start=START, end=END)
        mentorship = company.nominate_mentor(rotation, mentor="M1")
        company.accept_mentorship(mentorship, actor="M1")
        company.start_rotation(rotation, on=START)

    report = company.sync_directory(
        snapshot(replaced("E1", department="OPS")), on="2027-01-10", actor="hr@x"
    )

    assert company.get(rotation).status is RotationStatus.IN_PROGRESS
    [flag] = company.get(rotation).flags
    assert "E1 moved from IT to OPS on 2027-01-10" in flag
    assert [(c.kind, c.id) for c in report.consequences] == [("rotation flagged", rotation)]


def test_a_mentor_who_leaves_through_a_sync_is_released_and_the_rotation_flagged(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        rotation = company.plan_rotation("E1", host_department="FIN", start=START, end=END)
        mentorship = company.nominate_mentor(rotation, mentor="M1")

    report = company.sync_directory(snapshot(without("M1")), on="2027-01-02", actor="hr@x")

    assert company.get(mentorship).status is MentorshipStatus.RELEASED
    assert company.get(rotation).status is RotationStatus.PLANNED
    assert any("nominate another mentor" in f for f in company.get(rotation).flags)
    assert {c.kind for c in report.consequences} == {"mentorship released", "rotation flagged"}


# ---------------------------------------------------------------- what a sync does not do


def test_differences_a_sync_does_not_record_are_reported_as_notes(
    company: RotationProgram,
) -> None:
    with company.acting_as("cio@example.com"):
        company.depart_employee("M4", on="2027-01-01")
    before = head(company)
    departments = [attrs.evolve(d, name="Money") if d.code == "FIN" else d for d in DEPARTMENTS]

    report = company.sync_directory(DirectorySnapshot(departments, company_people()), actor="hr@x")

    assert report.events_recorded == 0 == head(company) - before
    assert len(report.notes) == 2
    assert "department FIN is recorded as 'Finance'" in report.notes[0]
    assert "employee M4 departed but is active in the source" in report.notes[1]


def test_a_snapshot_with_a_code_twice_or_an_unknown_department_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"employee codes twice: \['E1'\]"):
        DirectorySnapshot(DEPARTMENTS, [*company_people(), company_people()[0]])
    with pytest.raises(InvalidInput, match=r"E9 \(LAB\)"):
        DirectorySnapshot(DEPARTMENTS, [PersonRecord("E9", "N", "n@example.com", "LAB")])
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        PersonRecord("E9", "N", "not-an-address", "IT")
    with pytest.raises(InvalidInput, match="code must be a non-empty text"):
        DepartmentRecord("", "Nothing")


def test_a_source_that_fails_to_read_records_nothing_and_is_named(
    company: RotationProgram,
) -> None:
    before = head(company)

    def broken() -> DirectorySnapshot:
        raise OSError("connection reset")

    with pytest.raises(DirectorySourceError, match="'hris' could not be read: OSError") as error:
        company.sync_directory(Source("hris", broken), actor="hr@x")
    assert error.value.details == {"source": "hris"}
    assert head(company) == before

    def refused() -> DirectorySnapshot:
        raise DirectorySourceError("user 42 has no employeeNumber", source="hris", resource="42")

    with pytest.raises(DirectorySourceError, match="user 42"):
        company.sync_directory(Source("hris", refused), actor="hr@x")
    assert head(company) == before


def test_a_veto_of_one_change_refuses_the_whole_sync(company: RotationProgram) -> None:
    seen: list[tuple[str, Mapping[str, Any]]] = []

    class KeepE1:
        @hookimpl
        def rotation_validate_command(
            self, action: str, actor: str, context: Mapping[str, Any]
        ) -> str | None:
            seen.append((action, context))
            if action == "depart_employee" and context["employee"] == "E1":
                return "E1 stays"
            return None

    company.plugin_manager.manager.register(KeepE1(), name="keep_e1")
    before = head(company)
    hire = PersonRecord("E7", "Engineer 7", "e7@example.com", "IT")

    with pytest.raises(CommandVetoed, match="E1 stays"):
        company.sync_directory(snapshot([*without("E1"), hire]), actor="hr@x")

    assert head(company) == before
    assert ("register_employee", {"employee": "E7", "department": "IT"}) in seen


def test_each_change_of_a_sync_is_authorized_as_its_command(tmp_path: Path) -> None:
    def only_hr(actor: str, action: str, context: dict[str, Any]) -> None:
        if action.endswith("_employee") and actor != "hr@x":
            raise NotAuthorized(f"{actor} may not {action}", actor=actor, action=action)

    with open_program("memory:", authorize=only_hr, today=lambda: date(2027, 1, 1)) as program:
        with pytest.raises(NotAuthorized, match="cio@x may not register_employee"):
            program.sync_directory(snapshot(), actor="cio@x")
        assert head(program) == 0
        assert program.sync_directory(snapshot(), actor="hr@x").events_recorded == 15


# ---------------------------------------------------------------- sources from plugins


class HrisPlugin:
    def __init__(self, *sources: Source) -> None:
        self.sources = sources
        self.settings: list[Mapping[str, str]] = []

    @hookimpl
    def rotation_directory_sources(self, settings: Mapping[str, str]) -> Sequence[Source]:
        self.settings.append(settings)
        return self.sources


def test_sync_without_a_source_uses_the_only_one_the_plugins_offer() -> None:
    plugin = HrisPlugin(Source("hris", snapshot))
    with open_program(
        "memory:", plugins=[plugin], settings={"ROTATION_HRIS_X": "1"}, inline=True
    ) as program:
        assert [s.name for s in program.directory_sources()] == ["hris"]
        assert plugin.settings[-1]["ROTATION_HRIS_X"] == "1"
        report = program.sync_directory(actor="hr@x")
        assert (report.source, report.events_recorded) == ("hris", 15)


def test_with_several_sources_the_sync_needs_a_name() -> None:
    plugin = HrisPlugin(Source("scim", snapshot), Source("csv", lambda: snapshot([])))
    with open_program("memory:", plugins=[plugin]) as program:
        with pytest.raises(InvalidInput, match=r"several directory sources.*\['scim', 'csv'\]"):
            program.sync_directory(actor="hr@x")
        with pytest.raises(InvalidInput, match="no directory source is named 'ldap'"):
            program.sync_directory("ldap", actor="hr@x")
        assert program.sync_directory("csv", actor="hr@x").departments_registered == tuple(
            d.code for d in DEPARTMENTS
        )


def test_without_plugins_offering_sources_a_sync_needs_one_given(
    program: RotationProgram,
) -> None:
    assert program.directory_sources() == []
    with pytest.raises(InvalidInput, match="no plugin offers a directory source"):
        program.sync_directory(actor="hr@x")


# ---------------------------------------------------------------- concurrent writers


def test_a_registration_by_another_writer_during_a_sync_is_taken_into_account(
    tmp_path: Path, seed: Seed
) -> None:
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    hire = PersonRecord("E7", "Engineer 7", "e7@example.com", "IT")
    with open_program(url) as other:
        seed(other)

    class RegisterMeanwhile:
        done = False

        @hookimpl
        def rotation_validate_command(
            self, action: str, actor: str, context: Mapping[str, Any]
        ) -> None:
            if action == "register_employee" and not self.done:
                self.done = True
                with open_program(url) as writer:
                    writer.register_employee(
                        "E7", name="Seven", email="7@example.com", department="IT", actor="x"
                    )

    with open_program(url, plugins=[RegisterMeanwhile()]) as program:
        report = program.sync_directory(snapshot([*company_people(), hire]), actor="hr@x")
        assert report.employees_registered == ()
        assert report.details_changed == ("E7",)
        assert program.get(EmployeeClass.id_for("E7")).name == "Engineer 7"


# ---------------------------------------------------------------- stored events stay readable

GOLDEN_V2 = Path(__file__).parents[1] / "golden" / "events-v2-directory.jsonl"


def test_the_stored_details_changed_event_of_the_v2_golden_file_rebuilds_the_employee() -> None:
    """tests/golden/events-v2-directory.jsonl: what a sync stored for a details change.

    Like events-v1.jsonl it is never regenerated: later versions must still read it.
    """
    import json
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent

    records = [json.loads(line) for line in GOLDEN_V2.read_text(encoding="utf-8").splitlines()]
    assert [r["topic"] for r in records] == [
        "rotation_domain:DepartmentRegistered",
        "rotation_domain:EmployeeRegistered",
        "rotation_domain:EmployeeDetailsChanged",
    ]
    with open_program("memory:") as program:
        program.app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=UUID(r["originator_id"]),
                    originator_version=r["originator_version"],
                    topic=r["topic"],
                    state=r["state"].encode("utf-8"),
                )
                for r in records
            ]
        )
        ada = program.get(EmployeeClass.id_for("E1"))
        assert (ada.name, ada.email, ada.manager, ada.version) == (
            "Ada Lovelace",
            "ada.lovelace@example.com",
            None,
            2,
        )
        [changed] = [e for e in program.app.events.get(ada.id) if e.originator_version == 2]
        assert isinstance(changed, Employee.EmployeeDetailsChanged)
        assert changed.actor == "hris@example.com"
