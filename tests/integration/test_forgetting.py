"""Forgetting a person on each store: memory, a SQLite file and PostgreSQL.

The personal data is sealed in the stored bytes, reads back while the key exists, and
reads as ``[forgotten]`` everywhere once `forget_employee` destroyed the key, while the
counts and the audit chain stay as they were.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from rotation_domain import (
    FORGOTTEN,
    AlreadyForgotten,
    Employee,
    NotAuthorized,
    RotationProgram,
    SessionKind,
    open_program,
)
from rotation_domain.personal_data import subject_id

Seed = Callable[[RotationProgram], None]

SECRETS = (
    b"Engineer 1",
    b"e1@example.com",
    b"Invoices are re-keyed by hand",
    b"Parse the supplier mails",
    b"How month-end close works",
    b"Asked sharp questions",
)
"""Personal data of E1 the story below records."""


def _libpq(url: str) -> str:
    return url.split("?", 1)[0]


def _story(program: RotationProgram, seed_company: Seed) -> dict[str, UUID]:
    """E1 rotates into FIN with mentor M1 and proposes an improvement; E2, E3 are exempted."""
    seed_company(program)
    with program.acting_as("cio@example.com"):
        program.open_review_cycle("2027-H1", start=date(2027, 1, 1), end=date(2027, 6, 30))
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = program.nominate_mentor(rotation, mentor="M1")
        program.accept_mentorship(mentorship, actor="M1")
        program.start_rotation(rotation, on=date(2027, 1, 4))
        program.hold_mentor_session(
            mentorship, kind=SessionKind.DISCUSSION, on=date(2027, 1, 6),
            topic="How month-end close works", actor="M1",
        )  # fmt: skip
        program.record_observation(rotation, "Invoices are re-keyed by hand", actor="E1")
        improvement = program.propose_improvement(
            rotation, title="Route invoices automatically",
            description="Parse the supplier mails", actor="E1",
        )  # fmt: skip
        program.adopt_improvement(improvement, on=date(2027, 1, 20), actor="M1")
        program.complete_rotation(rotation, on=date(2027, 1, 29))
        program.conclude_mentorship(mentorship, feedback="Asked sharp questions", actor="M1")
        program.grant_exemption("E2", "2027-H1", reason="Parental leave")
        program.grant_exemption("E3", "2027-H1", reason="Long-term sick leave")
    return {"rotation": rotation, "mentorship": mentorship, "improvement": improvement}


def _counts(program: RotationProgram) -> Any:
    program.catch_up()
    participation = program.views.participation("2027-H1")
    return (
        [(row.employee, row.status, row.rotation_id) for row in participation],
        program.views.capacity(on=date(2027, 1, 10)),
        program.views.improvement_pipeline(),
        program.views.department_bridges(),
        program.views.mentor_engagement(),
    )


def _stored_states(program: RotationProgram) -> bytes:
    """Every stored event's state, as the recorder holds it."""
    notifications = program.app.recorder.select_notifications(start=1, limit=100_000)
    return b"\n".join(bytes(n.state) for n in notifications)


def _table_bytes(url: str, tables: tuple[str, ...]) -> bytes:
    """The raw content of some tables, read with the database's own client.

    ``stored_events`` names the events table of either database.
    """
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = [r for t in tables for r in conn.execute(f"SELECT * FROM {t}")]
    else:
        import psycopg

        schema = url.split("schema=", 1)[1]
        tables = tuple("rotationprogram_events" if t == "stored_events" else t for t in tables)
        with psycopg.connect(_libpq(url)) as conn:
            rows = [
                r for t in tables for r in conn.execute(f'SELECT * FROM "{schema}".{t}').fetchall()
            ]
    return b"\n".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
    )


@pytest.fixture
def story(store_url: str, seed: Seed) -> Iterator[tuple[RotationProgram, dict[str, UUID]]]:
    with open_program(store_url, today=lambda: date(2027, 1, 1)) as program:
        yield program, _story(program, seed)


def test_personal_data_is_sealed_in_the_stored_events_and_reads_back(
    story: tuple[RotationProgram, dict[str, UUID]], store_url: str
) -> None:
    program, ids = story
    stored = _stored_states(program)
    for secret in SECRETS:
        assert secret not in stored
    assert b'"$personal":1' in stored
    assert b"Route invoices automatically" in stored  # a title is a business record
    if store_url != "memory:":
        raw = _table_bytes(store_url, ("stored_events",))
        assert b"Finance" in raw
        for secret in SECRETS:
            assert secret not in raw
    employee: Any = program.get(Employee.id_for("E1"))
    assert (employee.name, employee.email) == ("Engineer 1", "e1@example.com")
    rotation: Any = program.get(ids["rotation"])
    assert rotation.observations[0].text == "Invoices are re-keyed by hand"
    assert program.get(ids["improvement"]).description == "Parse the supplier mails"  # type: ignore[attr-defined]


def test_forgetting_shows_the_person_as_forgotten_everywhere_and_keeps_every_count(
    story: tuple[RotationProgram, dict[str, UUID]], store_url: str
) -> None:
    program, ids = story
    counts = _counts(program)
    program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")

    employee: Any = program.get(Employee.id_for("E1"))
    assert (employee.name, employee.email, employee.forgotten) == (FORGOTTEN, FORGOTTEN, True)
    assert employee.department == "IT"
    rotation: Any = program.get(ids["rotation"])
    assert rotation.observations[0].text == FORGOTTEN
    assert rotation.participant == "E1"
    mentorship: Any = program.get(ids["mentorship"])
    assert [s.topic for s in mentorship.sessions] == [FORGOTTEN]
    assert mentorship.feedback == FORGOTTEN
    improvement: Any = program.get(ids["improvement"])
    assert (improvement.title, improvement.description) == (
        "Route invoices automatically",
        FORGOTTEN,
    )

    history = [entry.summary for entry in program.history(Employee.id_for("E1"))]
    assert history[0] == f"Employee E1 ({FORGOTTEN}) registered in IT"
    timeline = list(program.timeline(employee="E1"))
    assert "Observation (general): [forgotten]" in [entry.summary for entry in timeline]
    exported = io.StringIO()
    program.export_audit(exported)
    text = exported.getvalue()
    for secret in SECRETS[:6]:
        assert secret.decode() not in text
    assert "Engineer 2" in text
    assert "Parental leave" in text
    records = [json.loads(line) for line in text.splitlines()]
    [forgotten] = [r for r in records if r.get("event_type") == "EmployeeForgotten"]
    assert forgotten["data"] == {"reason": "erasure request 42"}

    after = _counts(program)
    assert after == counts
    rows = {row.employee: row for row in program.views.participation("2027-H1")}
    assert rows["E1"].name == FORGOTTEN
    assert rows["E2"].name == "Engineer 2"
    if store_url != "memory:":
        verification = program.verify_audit_trail()
        assert verification.ok, verification.reason


def test_a_reopened_program_and_a_rebuild_see_the_person_forgotten(
    store_url: str, seed: Seed
) -> None:
    if store_url == "memory:":
        pytest.skip("a memory store does not outlive its program")
    with open_program(store_url, today=lambda: date(2027, 1, 1)) as program:
        ids = _story(program, seed)
        counts = _counts(program)
        program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
        program.forget_employee("E3", reason="erasure request 43", actor="cio@example.com")
    with open_program(store_url, today=lambda: date(2027, 1, 1)) as reopened:
        assert reopened.get(Employee.id_for("E1")).name == FORGOTTEN  # type: ignore[attr-defined]
        assert reopened.get(Employee.id_for("E2")).name == "Engineer 2"  # type: ignore[attr-defined]
        rotation: Any = reopened.get(ids["rotation"])
        assert rotation.observations[0].text == FORGOTTEN
        reopened.rebuild()
        assert _counts(reopened) == counts
        assert {r.employee: r.name for r in reopened.views.participation("2027-H1")}["E1"] == (
            FORGOTTEN
        )
        assert reopened.verify_audit_trail().ok
        keys = _table_bytes(store_url, ("rotation_personal_keys",))
        assert str(subject_id("E1")).encode() in keys
        views = _table_bytes(store_url, ("rotation_view_rows",))
        assert b"Engineer 1" not in views
        assert b"Engineer 2" in views
        assert b"Long-term sick leave" not in views
        assert b"Parental leave" in views


def test_forgetting_twice_says_the_person_is_already_forgotten(
    story: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = story
    program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
    head = program.app.recorder.max_notification_id()
    with pytest.raises(AlreadyForgotten, match="E1 is already forgotten"):
        program.forget_employee("E1", reason="again", actor="cio@example.com")
    assert program.app.recorder.max_notification_id() == head


def test_only_an_administrator_may_forget_when_admins_are_named(store_url: str, seed: Seed) -> None:
    with open_program(
        store_url,
        today=lambda: date(2027, 1, 1),
        settings={"ROTATION_ADMINS": "cio@example.com"},
    ) as program:
        seed(program)
        with pytest.raises(NotAuthorized, match="forget employee"):
            program.forget_employee("E1", reason="I want to", actor="E2")
        assert program.get(Employee.id_for("E1")).name == "Engineer 1"  # type: ignore[attr-defined]
        program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
        assert program.get(Employee.id_for("E1")).name == FORGOTTEN  # type: ignore[attr-defined]


def test_personal_data_recorded_after_forgetting_is_not_stored(
    story: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = story
    program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
    program.depart_employee("E1", reason="Moved to a competitor", actor="cio@example.com")
    assert b"competitor" not in _stored_states(program)
    [departed] = [
        e for e in program.history(Employee.id_for("E1")) if e.event_type == "EmployeeDeparted"
    ]
    assert departed.data["reason"] == FORGOTTEN


def test_employee_snapshots_keep_the_name_sealed(store_url: str, seed: Seed) -> None:
    with open_program(store_url, today=lambda: date(2027, 1, 1)) as program:
        seed(program)
        employee_id = Employee.id_for("E1")
        program.app.take_snapshot(employee_id)
        assert program.app.snapshots is not None
        [snapshot] = program.app.snapshots.recorder.select_events(employee_id)
        assert b"Engineer 1" not in snapshot.state
        assert b"$personal" in snapshot.state
        program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
        assert program.get(employee_id).name == FORGOTTEN  # type: ignore[attr-defined]
        assert program.app.repository.get(employee_id, version=1).name == FORGOTTEN  # type: ignore[attr-defined]


def test_the_whole_store_can_be_encrypted_at_rest(store_url: str, seed: Seed) -> None:
    from eventsourcing.cryptography import AESCipher

    settings = {"CIPHER_KEY": AESCipher.create_key(32)}
    with open_program(store_url, today=lambda: date(2027, 1, 1), settings=settings) as program:
        assert type(program.app.mapper.cipher) is AESCipher
        seed(program)
        stored = _stored_states(program)
        assert b"Finance" not in stored
        assert b"Engineer 1" not in stored
        if store_url != "memory:":
            assert b"Finance" not in _table_bytes(store_url, ("stored_events",))
            assert program.verify_audit_trail().ok
        assert program.get(Employee.id_for("E1")).name == "Engineer 1"  # type: ignore[attr-defined]
        program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
        assert program.get(Employee.id_for("E1")).name == FORGOTTEN  # type: ignore[attr-defined]
    if store_url != "memory:":
        with open_program(store_url, settings=settings) as reopened:
            assert reopened.get(Employee.id_for("E2")).name == "Engineer 2"  # type: ignore[attr-defined]
            assert reopened.verify_audit_trail().ok


def test_another_open_program_stops_using_the_key_once_its_cache_entry_expires(
    store_url: str, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store_url == "memory:":
        pytest.skip("two programs share a store only in a database")
    import adapters.personal_keys

    monkeypatch.setattr(adapters.personal_keys, "KEY_CACHE_SECONDS", 0.0)
    with (
        open_program(store_url, today=lambda: date(2027, 1, 1), inline=False) as other,
        open_program(store_url, today=lambda: date(2027, 1, 1)) as program,
    ):
        ids = _story(program, seed)
        observations = [e for e in other.history(ids["rotation"]) if e.data.get("text")]
        assert observations[0].data["text"] == "Invoices are re-keyed by hand"
        program.forget_employee("E1", reason="erasure request 42", actor="cio@example.com")
        observations = [e for e in other.history(ids["rotation"]) if e.data.get("text")]
        assert observations[0].data["text"] == FORGOTTEN


def test_an_exemption_reason_is_sealed_and_forgotten_with_the_employee(tmp_path) -> None:
    import sqlite3

    from rotation_domain import FORGOTTEN, open_program

    path = tmp_path / "rotation.db"
    with open_program(f"sqlite:///{path}") as program, program.acting_as("cio"):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_employee("E1", name="Ada", email="ada@example.com", department="IT")
        program.open_review_cycle("2027", start="2027-01-01", end="2027-12-31")
        program.grant_exemption("E1", cycle="2027", reason="Parental leave until June")
        [before] = program.timeline(event_types=["ExemptionGranted"])
        assert before.data["reason"] == "Parental leave until June"
        program.forget_employee("E1", reason="erasure request 2027-7")
        [after] = program.timeline(event_types=["ExemptionGranted"])
        assert after.data["reason"] == FORGOTTEN
        assert program.verify_audit_trail().ok
    stored = b"".join(
        row[0] for row in sqlite3.connect(path).execute("SELECT state FROM stored_events")
    )
    assert b"Parental leave" not in stored


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store whose keys outlive the program that made them: a file, or a schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


def test_an_aggregate_about_many_people_loads_their_keys_in_one_query(
    database_url: str, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Program's exemptions seal the reasons of several people: one key query for all."""
    store_url = database_url
    from adapters.personal_keys import PersonalKeys
    from rotation_domain.program import PROGRAM_ID

    with open_program(store_url, today=lambda: date(2027, 1, 1)) as program:
        _story(program, seed)  # E2 and E3 exempted, with their reasons sealed
        program.forget_employee("E3", reason="erasure request 7", actor="cio@example.com")
    one_by_one: list[object] = []
    batches: list[list[object]] = []
    with open_program(store_url, today=lambda: date(2027, 1, 1), inline=False) as program:
        keys = type(program.app.personal_keys)
        select_key, select_keys = keys._select_key, keys._select_keys

        def counted_key(self: PersonalKeys, subject: object) -> tuple[bool, bytes | None]:
            one_by_one.append(subject)
            return select_key(self, subject)

        def counted_keys(self: PersonalKeys, subjects: list[Any]) -> dict[str, bytes | None]:
            batches.append(list(subjects))
            return select_keys(self, subjects)

        monkeypatch.setattr(keys, "_select_key", counted_key)
        monkeypatch.setattr(keys, "_select_keys", counted_keys)
        program.app.repository.get(PROGRAM_ID)  # its events are decoded, reasons opened
        assert one_by_one == []
        assert [sorted(map(str, batch)) for batch in batches] == [
            sorted(str(subject_id(code)) for code in ("E2", "E3"))
        ]
        exemptions = program.timeline(event_types=["ExemptionGranted"])
        reasons = {e.data["employee"]: e.data["reason"] for e in exemptions}
        assert reasons == {"E2": "Parental leave", "E3": FORGOTTEN}
        assert one_by_one == [], "the timeline used the keys loaded with the aggregate"
