"""Personal fields sealed by the mapper, the key stores, and the golden file of sealed events.

``tests/golden/events-v3-privacy.jsonl`` holds the stored events of one person (P1),
registered, departed and forgotten, sealed with the data key ``bytes(range(32))``. It
was written once by the mapper of this version and is never regenerated: later versions
must still open its envelopes with that key, and read them as ``[forgotten]`` without it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import (
    InfrastructureFactory,
    MapperDeserialisationError,
    StoredEvent,
)
from eventsourcing.utils import Environment

from adapters.mapper import CattrsMapper
from adapters.personal_keys import MemoryPersonalKeys, make_kek
from rotation_domain import (
    FORGOTTEN,
    Employee,
    Improvement,
    KeyStoreMissing,
    Rotation,
    open_program,
)
from rotation_domain.personal_data import subject_id

GOLDEN = Path(__file__).parents[1] / "golden" / "events-v3-privacy.jsonl"
GOLDEN_KEY = bytes(range(32))


@pytest.fixture
def mapper() -> Iterator[CattrsMapper]:
    factory = InfrastructureFactory.construct(
        Environment("RotationProgram", {"MAPPER_TOPIC": "adapters.mapper:CattrsMapper"})
    )
    built = factory.mapper()
    assert isinstance(built, CattrsMapper)
    yield built
    factory.close()


@pytest.fixture
def keys(mapper: CattrsMapper) -> MemoryPersonalKeys:
    store = MemoryPersonalKeys()
    mapper.use_personal_keys(store)
    return store


def _registered(code: str = "E1") -> Employee:
    return Employee.register(
        code, name="Ada Lovelace", email="ada@example.com", department="IT",
        manager=None, actor="hris",
    )  # fmt: skip


def _state(stored: StoredEvent) -> dict[str, Any]:
    state: dict[str, Any] = orjson.loads(stored.state)
    return state


def test_personal_fields_are_stored_as_sealed_envelopes_and_read_back(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    [event] = _registered().collect_events()
    stored = mapper.to_stored_event(event)
    assert b"Ada" not in stored.state
    assert b"ada@example.com" not in stored.state
    state = _state(stored)
    assert state["code"] == "E1"
    assert set(state["name"]) == {"$personal", "subject", "sealed"}
    assert state["name"]["subject"] == str(subject_id("E1"))
    back: Any = mapper.to_domain_event(stored)
    assert (back.name, back.email) == ("Ada Lovelace", "ada@example.com")


def test_the_same_value_seals_differently_each_time(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    [one] = _registered().collect_events()
    [two] = _registered().collect_events()
    assert (
        _state(mapper.to_stored_event(one))["name"] != _state(mapper.to_stored_event(two))["name"]
    )


def test_a_destroyed_key_reads_as_forgotten_and_never_raises(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    employee = _registered()
    employee.depart(date(2027, 2, 1), "moved abroad", actor="hris")
    stored = [mapper.to_stored_event(e) for e in employee.collect_events()]
    assert keys.destroy(subject_id("E1")) is True
    registered: Any = mapper.to_domain_event(stored[0])
    departed: Any = mapper.to_domain_event(stored[1])
    assert (registered.name, registered.email, departed.reason) == (FORGOTTEN,) * 3
    assert (registered.code, registered.department) == ("E1", "IT")


def test_a_sealed_value_cannot_be_moved_to_another_field_or_event(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    [event] = _registered().collect_events()
    stored = mapper.to_stored_event(event)
    state = _state(stored)
    state["name"], state["email"] = state["email"], state["name"]
    swapped = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, orjson.dumps(state)
    )
    with pytest.raises(MapperDeserialisationError, match="EmployeeRegistered"):
        mapper.to_domain_event(swapped)


def test_plain_values_stored_before_sealing_existed_read_as_they_are(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    state = {
        "actor": "hris", "code": "E9", "department": "IT", "email": "old@example.com",
        "manager": None, "name": "Old Timer", "originator_topic": "rotation_domain:Employee",
        "timestamp": "2027-01-01T08:00:00+00:00",
    }  # fmt: skip
    stored = StoredEvent(
        Employee.id_for("E9"), 1, "rotation_domain:EmployeeRegistered", orjson.dumps(state)
    )
    event: Any = mapper.to_domain_event(stored)
    assert (event.name, event.email) == ("Old Timer", "old@example.com")


def test_later_events_are_sealed_with_the_key_of_the_person_the_aggregate_is_about(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    from rotation_domain.values import DateRange

    rotation = Rotation.plan("E1", "FIN", DateRange(date(2027, 1, 4), date(2027, 1, 29)), actor="x")
    planned = [mapper.to_stored_event(e) for e in rotation.collect_events()]
    assert keys.subject_of(rotation.id) == subject_id("E1")
    improvement = Improvement.propose(
        rotation.id, "E1", "FIN", title="Route invoices", description="Parse the mails",
        on=None, actor="E1",
    )  # fmt: skip
    improvement.withdraw("Not worth it", actor="E1")
    stored = [mapper.to_stored_event(e) for e in improvement.collect_events()]
    assert {_state(s)["reason"]["subject"] for s in stored[1:]} == {str(subject_id("E1"))}
    assert b"Route invoices" in stored[0].state
    assert b"Parse the mails" not in stored[0].state
    keys.destroy(subject_id("E1"))
    withdrawn: Any = mapper.to_domain_event(stored[1])
    assert withdrawn.reason == FORGOTTEN
    assert len(planned) == 1


def test_an_aggregate_without_a_known_person_is_refused_rather_than_stored_plain(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    event = Rotation.RotationFlagged(
        originator_id=uuid4(), originator_version=2, timestamp=datetime.now(UTC),
        actor="x", reason="E1 left",
    )  # fmt: skip
    with pytest.raises(ValueError, match="no person is recorded"):
        mapper.to_stored_event(event)


def test_a_mapper_without_keys_stores_plain_and_reads_envelopes_as_forgotten(
    mapper: CattrsMapper,
) -> None:
    [event] = _registered().collect_events()
    assert b"Ada Lovelace" in mapper.to_stored_event(event).state
    [record] = [json.loads(line) for line in GOLDEN.read_text().splitlines()][:1]
    stored = StoredEvent(
        UUID(record["originator_id"]), 1, record["topic"], record["state"].encode()
    )
    assert mapper.to_domain_event(stored).name == FORGOTTEN  # type: ignore[attr-defined]


def test_the_golden_sealed_events_open_with_their_key_and_are_forgotten_without_it(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    records = [json.loads(line) for line in GOLDEN.read_text().splitlines()]
    stored = [
        StoredEvent(
            UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"].encode()
        )
        for r in records
    ]
    subject = subject_id("P1")
    keys._insert_key(subject, GOLDEN_KEY)
    registered: Any = mapper.to_domain_event(stored[0])
    departed: Any = mapper.to_domain_event(stored[1])
    assert (registered.name, registered.email) == ("Petra Privacy", "petra@example.com")
    assert departed.reason == "moved abroad"
    forgotten: Any = mapper.to_domain_event(stored[2])  # reading it forgets, in this process
    assert forgotten.reason == "erasure request #7"
    assert mapper.to_domain_event(stored[0]).name == FORGOTTEN  # type: ignore[attr-defined]


def test_employee_snapshots_seal_the_name_and_email(
    mapper: CattrsMapper, keys: MemoryPersonalKeys
) -> None:
    from eventsourcing.domain import Snapshot

    employee = _registered()
    snapshot = Snapshot.take(employee)
    stored = mapper.to_stored_event(snapshot)
    assert b"Ada" not in stored.state
    assert mapper.to_domain_event(stored).state["name"] == "Ada Lovelace"  # type: ignore[attr-defined]
    keys.destroy(subject_id("E1"))
    back: Any = mapper.to_domain_event(stored)
    assert (back.state["name"], back.state["email"]) == (FORGOTTEN, FORGOTTEN)
    assert back.mutate(None).code == "E1"


def test_key_stores_destroy_for_good_and_say_whether_they_did() -> None:
    store = MemoryPersonalKeys()
    person = subject_id("E1")
    key = store.data_key(person, create=True)
    assert key is not None
    assert len(key) == 32
    assert store.data_key(person) == key
    assert store.destroy(person) is True
    assert store.destroy(person) is False
    assert store.is_forgotten(person)
    assert store.data_key(person, create=True) is None
    assert store.destroy(subject_id("never-seen")) is True  # a tombstone all the same
    assert store.data_key(subject_id("never-seen"), create=True) is None


def test_a_key_encryption_key_wraps_the_stored_data_keys() -> None:
    kek = make_kek()
    store = MemoryPersonalKeys(kek)
    person = subject_id("E1")
    key = store.data_key(person, create=True)
    assert key is not None
    stored = store._keys[person]
    assert stored is not None
    assert key not in stored
    assert len(stored) == 12 + 32 + 16
    with pytest.raises(ValueError, match="32 bytes"):
        MemoryPersonalKeys(base64.b64encode(b"short").decode())
    other = MemoryPersonalKeys(make_kek())
    other._keys[person] = stored
    with pytest.raises(Exception):  # noqa: B017, PT011 - cryptography's InvalidTag
        other.data_key(person)


def test_forgetting_needs_a_store_that_keeps_keys() -> None:
    with open_program("memory:", settings={"PERSONAL_KEY_STORE_TOPIC": ""}) as program:
        assert program.app.personal_keys is None
        program.register_department("IT", name="IT", is_it=True, actor="cio")
        program.register_employee(
            "E1", name="Ada", email="ada@example.com", department="IT", actor="cio"
        )
        with pytest.raises(KeyStoreMissing, match="cannot be forgotten"):
            program.forget_employee("E1", reason="erasure request", actor="cio")


def test_a_forgotten_employee_s_details_are_not_changed_again() -> None:
    from rotation_domain import AlreadyForgotten

    employee = _registered()
    employee.forget("erasure request", actor="cio")
    with pytest.raises(AlreadyForgotten, match="no longer recorded"):
        employee.change_details(name="Ada", email="ada@example.com", manager=None, actor="hris")
    with pytest.raises(AlreadyForgotten, match="already forgotten"):
        employee.forget("again", actor="cio")
