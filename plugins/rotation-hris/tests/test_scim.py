"""SCIM 2.0 sync against a real scim2-server on loopback, holding a few hundred users."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rotation_domain import (
    Employee,
    MentorshipStatus,
    RotationProgram,
    RotationStatus,
    SyncReport,
    Transfer,
    open_program,
)
from rotation_domain.testing import RegisterPlugin

import rotation_hris
from hris_testserver import DEPARTMENTS, IT_DEPARTMENTS, PAGE_LIMIT, TOKEN, USERS, ScimServer
from rotation_hris import ScimError, ScimSource, Secret

TODAY = date(2027, 1, 1)


def source(url: str, token: str = TOKEN, **options: Any) -> ScimSource:
    return ScimSource(url, Secret(token), it_departments=IT_DEPARTMENTS.split(","), **options)


def head(program: RotationProgram) -> int:
    return program.app.recorder.max_notification_id() or 0


def topics_since(program: RotationProgram, position: int) -> list[str]:
    page = program.app.recorder.select_notifications(start=position + 1, limit=5000)
    return sorted(n.topic.split(":")[-1] for n in page)


def opened(url: str) -> RotationProgram:
    return open_program(url, today=lambda: TODAY)


def test_the_first_sync_records_the_directory_and_a_second_records_nothing(
    scim: ScimServer, store_url: str
) -> None:
    with opened(store_url) as program:
        report = program.sync_directory(source(scim.url), actor="hris@example.com")

        assert sorted(report.departments_registered) == sorted(DEPARTMENTS)
        assert len(report.employees_registered) == USERS
        assert report.events_recorded == USERS + len(DEPARTMENTS) == head(program)
        it = program.get(Employee.id_for("E006"))  # 6 % 6 == 0: the first department, IT
        assert (it.name, it.email, it.department, it.manager) == (
            "Person 006",
            "e006@example.com",
            "IT",
            None,
        )
        assert program.get(Employee.id_for("E012")).manager == "E006"
        assert scim.user_pages() == list(range(1, USERS + 1, PAGE_LIMIT))

        before = head(program)
        again = program.sync_directory(source(scim.url), actor="hris@example.com")
        assert again == SyncReport(source="scim")
        assert head(program) == before


def test_a_change_in_the_hris_records_only_that_change_and_r10_follows(
    scim: ScimServer, tmp_path: Path
) -> None:
    with opened(f"sqlite:///{tmp_path / 'rotation.db'}") as program:
        program.sync_directory(source(scim.url), actor="hris@example.com")
        # E006 (IT) rotates into FIN with mentor E008 (FIN).
        with program.acting_as("cio@example.com"):
            rotation = program.plan_rotation(
                "E006", host_department="FIN", start="2027-01-04", end="2027-01-29"
            )
            mentorship = program.nominate_mentor(rotation, mentor="E008")
            second = program.plan_rotation(
                "E012", host_department="OPS", start="2027-01-04", end="2027-01-29"
            )
        before = head(program)

        scim.replace("E006", active=False)  # a leaver with a planned rotation
        scim.replace("E008", department="HR")  # a mentor who moves away
        scim.replace("E012", department="SALES")  # a participant who leaves IT
        scim.replace("E024", name="Pat Renamed")  # a correction
        scim.remove("E030")  # deleted from the HRIS
        scim.hire("E301", department="IT")  # a new hire
        report = program.sync_directory(source(scim.url), on="2027-01-02", actor="hris@x")

        assert report.employees_registered == ("E301",)
        assert sorted(report.departed) == ["E006", "E030"]
        assert sorted(report.transferred, key=lambda t: t.employee) == [
            Transfer("E008", "FIN", "HR"),
            Transfer("E012", "IT", "SALES"),
        ]
        assert report.details_changed == ("E024",)
        assert program.get(rotation).status is RotationStatus.CANCELLED
        assert program.get(mentorship).status is MentorshipStatus.RELEASED
        assert program.get(second).status is RotationStatus.CANCELLED
        assert {c.id for c in report.consequences} == {rotation, mentorship, second}
        assert all("2027-01-02" in c.reason for c in report.consequences)
        recorded = topics_since(program, before)
        directory = [t for t in recorded if t.startswith("Employee")]
        assert directory == sorted(
            ["EmployeeDeparted"] * 2
            + ["EmployeeTransferred"] * 2
            + ["EmployeeDetailsChanged", "EmployeeRegistered"]
        )
        assert "RotationCancelled" in recorded
        assert "MentorshipReleased" in recorded
        assert report.events_recorded == len(recorded)

        before = head(program)
        assert program.sync_directory(source(scim.url), actor="hris@x").events_recorded == 0
        assert head(program) == before


def test_a_wrong_token_is_refused_with_a_clear_error_that_does_not_show_it(
    scim: ScimServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-0123456789"
    caplog.set_level(logging.DEBUG)
    with opened("memory:") as program:
        with pytest.raises(ScimError, match=r"refused the bearer token \(401\)") as error:
            program.sync_directory(source(scim.url, wrong), actor="hris@x")
        assert head(program) == 0
    assert error.value.details["resource"] == "Groups"
    assert error.value.details["status"] == 401
    shown = [str(error.value), repr(error.value), repr(error.value.details)]
    shown += [repr(source(scim.url, wrong)), caplog.text]
    assert not [text for text in shown if wrong in text or TOKEN in text]


def test_a_server_that_never_answers_times_out_and_nothing_is_recorded(
    silent_url: str,
) -> None:
    with opened("memory:") as program:
        with pytest.raises(ScimError, match=r"no answer to GET Groups \(startIndex 1\) within 0.3"):
            program.sync_directory(source(silent_url, timeout=0.3), actor="hris@x")
        assert head(program) == 0


def test_an_http_500_halfway_through_the_users_records_nothing(
    scim: ScimServer, tmp_path: Path
) -> None:
    with opened(f"sqlite:///{tmp_path / 'rotation.db'}") as program:
        program.sync_directory(source(scim.url), actor="hris@x")
        before = head(program)
        scim.hire("E301", department="IT")
        scim.replace("E002", active=False)
        scim.fail_when = lambda path, query: (
            path.endswith("/Users") and query.get("startIndex") == [str(1 + 3 * PAGE_LIMIT)]
        )

        with pytest.raises(ScimError) as error:
            program.sync_directory(source(scim.url), actor="hris@x")

        assert str(error.value).endswith(
            f"the server answered 500 to GET Users (startIndex {1 + 3 * PAGE_LIMIT}): "
            "database unavailable"
        )
        assert error.value.details["resource"] == "Users"
        assert head(program) == before


def test_a_malformed_user_is_named_and_nothing_is_recorded(scim: ScimServer) -> None:
    nameless = scim.user("E400", department="IT")
    del nameless["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"]
    scim_id = scim.created("/Users", nameless)["id"]
    with opened("memory:") as program:
        with pytest.raises(ScimError) as error:
            program.sync_directory(source(scim.url), actor="hris@x")
        assert head(program) == 0
    assert f"User {scim_id} (user400) has no employeeNumber" in str(error.value)
    assert error.value.details["resource"] == f"Users/{scim_id}"


def test_a_user_with_a_bad_email_is_named(scim: ScimServer) -> None:
    body = scim.user("E401", department="IT")
    body["emails"] = [{"value": "not-an-address", "primary": True}]
    scim_id = scim.created("/Users", body)["id"]
    with opened("memory:") as program, pytest.raises(ScimError) as error:
        program.sync_directory(source(scim.url), actor="hris@x")
    assert f"User {scim_id} is malformed: 'not-an-address' is not an e-mail address" in str(
        error.value
    )


def test_a_filter_limits_the_users_read_and_pages_follow_the_page_size(
    scim: ScimServer,
) -> None:
    it_only = source(
        scim.url,
        user_filter='urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "IT"',
        page_size=7,
    )
    snapshot = it_only.read()
    assert len(snapshot.people) == USERS // len(DEPARTMENTS)
    assert {p.department for p in snapshot.people} == {"IT"}
    assert [d.code for d in snapshot.departments] == ["IT"]
    assert snapshot.departments[0].name == "Information Technology"
    assert snapshot.departments[0].is_it
    assert scim.user_pages() == list(range(1, USERS // len(DEPARTMENTS) + 1, 7))


def test_the_plugin_offers_a_scim_source_from_the_settings_and_syncs_from_it(
    scim: ScimServer, register_plugin: RegisterPlugin, tmp_path: Path
) -> None:
    config = tmp_path / "rotation.toml"
    config.write_text(
        f'[settings]\nROTATION_SCIM_URL = "{scim.url}"\nROTATION_SCIM_TIMEOUT_SECONDS = 5\n'
        f'ROTATION_HRIS_IT_DEPARTMENTS = "{IT_DEPARTMENTS}"\n',
        encoding="utf-8",
    )
    program = register_plugin(
        rotation_hris,
        settings={"ROTATION_CONFIG": str(config), "ROTATION_SCIM_TOKEN": TOKEN},
    )
    [offered] = program.directory_sources()
    assert isinstance(offered, ScimSource)
    assert (offered.name, offered.url, offered.timeout) == ("scim", scim.url, 5.0)
    assert TOKEN not in repr(offered)

    report = program.sync_directory(actor="hris@x")
    assert len(report.employees_registered) == USERS
    assert program.get(Employee.id_for("E006")).department == "IT"
    assert program.sync_directory("scim", actor="hris@x").events_recorded == 0
