from __future__ import annotations

import enum
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import attrs
import orjson
import pytest
from eventsourcing.application import Application
from eventsourcing.cipher import AESCipher
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.persistence import JSONTranscoder, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import Environment
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.converter import make_converter
from adapters.mapper import CattrsMapper


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


class Size(enum.Enum):
    SMALL = 1
    LARGE = 2


@attrs.frozen
class Money:
    amount: int
    currency: str


@attrs.frozen
class Item:
    label: str
    price: Money
    colour: Colour
    due: date | None = None


class Sample(Aggregate):
    TOPIC = "tests.mapper:Sample"

    name: str
    colour: Colour
    size: Size
    starts: date
    items: tuple[Item, ...]
    note: str | None
    weights: dict[str, float]
    holders: dict[UUID, Item]
    budget: Money | None
    ratio: float
    active: bool
    partner: UUID | None
    reviewed_at: datetime | None

    class Created(Aggregate.Created):
        TOPIC = "tests.mapper:Sample.Created"
        name: str
        colour: Colour
        size: Size
        starts: date
        items: tuple[Item, ...]
        note: str | None
        weights: dict[str, float]
        holders: dict[UUID, Item]
        budget: Money | None
        ratio: float
        active: bool
        partner: UUID | None
        reviewed_at: datetime | None

    @event(Created)
    def __init__(
        self,
        name: str,
        colour: Colour,
        size: Size,
        starts: date,
        items: tuple[Item, ...],
        note: str | None,
        weights: dict[str, float],
        holders: dict[UUID, Item],
        budget: Money | None,
        ratio: float,
        active: bool,
        partner: UUID | None,
        reviewed_at: datetime | None,
    ) -> None:
        self.name = name
        self.colour = colour
        self.size = size
        self.starts = starts
        self.items = items
        self.note = note
        self.weights = weights
        self.holders = holders
        self.budget = budget
        self.ratio = ratio
        self.active = active
        self.partner = partner
        self.reviewed_at = reviewed_at

    class ItemAdded(Aggregate.Event):
        TOPIC = "tests.mapper:Sample.ItemAdded"
        item: Item

    @event(ItemAdded)
    def add_item(self, item: Item) -> None:
        self.items = (*self.items, item)

    class Renamed(Aggregate.Event):
        TOPIC = "tests.mapper:Sample.Renamed"
        class_version = 2
        name: str
        reason: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = "not recorded"

    @event(Renamed)
    def rename(self, name: str, reason: str) -> None:
        self.name = name


class Versioned(Aggregate):
    TOPIC = "tests.mapper:Versioned"
    class_version = 2

    starts: date
    ends: date

    class Created(Aggregate.Created):
        TOPIC = "tests.mapper:Versioned.Created"
        starts: date
        ends: date

    @event(Created)
    def __init__(self, starts: date, ends: date) -> None:
        self.starts = starts
        self.ends = ends

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["ends"] = state["starts"]


class SampleApplication(Application[UUID]):
    pass


def make_sample() -> Sample:
    holder = uuid4()
    return Sample(
        name="Backend rotation",
        colour=Colour.GREEN,
        size=Size.LARGE,
        starts=date(2025, 3, 1),
        items=(
            Item("laptop", Money(1500, "EUR"), Colour.RED, due=date(2025, 3, 3)),
            Item("badge", Money(0, "EUR"), Colour.GREEN),
        ),
        note=None,
        weights={"skill": 0.25, "interest": 1.5},
        holders={holder: Item("desk", Money(10, "EUR"), Colour.RED)},
        budget=Money(2000, "EUR"),
        ratio=0.1,
        active=True,
        partner=uuid4(),
        reviewed_at=datetime(2025, 2, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
    )


def new_mapper(**env: str) -> CattrsMapper:
    environment = Environment(env=env)
    cipher = AESCipher(environment) if "CIPHER_KEY" in env else None
    compressor = ZlibCompressor() if env.get("COMPRESS") else None
    return CattrsMapper(JSONTranscoder(), compressor=compressor, cipher=cipher)


def test_every_field_type_survives_a_round_trip() -> None:
    mapper = new_mapper()
    created = make_sample().collect_events()[0]

    restored = mapper.to_domain_event(mapper.to_stored_event(created))

    assert type(restored) is Sample.Created
    assert restored == created
    assert vars(restored) == vars(created)
    assert isinstance(restored.originator_id, UUID)
    assert isinstance(restored.timestamp, datetime)
    assert restored.timestamp.tzinfo is not None
    assert isinstance(restored.items[0], Item)
    assert isinstance(restored.items[0].price, Money)
    assert type(restored.items[0].due) is date
    assert restored.colour is Colour.GREEN
    assert restored.size is Size.LARGE
    assert type(restored.starts) is date
    assert all(isinstance(key, UUID) for key in restored.holders)
    assert isinstance(restored.budget, Money)
    assert isinstance(restored.partner, UUID)
    assert restored.reviewed_at == created.reviewed_at
    assert restored.reviewed_at.utcoffset() == timedelta(hours=2)


def test_stored_state_is_sorted_json_without_originator_id_and_version() -> None:
    mapper = new_mapper()
    created = make_sample().collect_events()[0]

    stored = mapper.to_stored_event(created)
    state = orjson.loads(stored.state)

    assert stored.topic == "tests.mapper:Sample.Created"
    assert stored.originator_id == created.originator_id
    assert stored.originator_version == 1
    assert "originator_id" not in state
    assert "originator_version" not in state
    assert "class_version" not in state
    assert list(state) == sorted(state)
    assert state["starts"] == "2025-03-01"
    assert state["colour"] == "green"
    assert state["size"] == 2
    assert state["reviewed_at"] == "2025-02-01T09:30:15.123456+02:00"
    assert state["originator_topic"] == "tests.mapper:Sample"
    assert state["items"][0] == {
        "label": "laptop",
        "price": {"amount": 1500, "currency": "EUR"},
        "colour": "red",
        "due": "2025-03-03",
    }


def test_the_same_event_always_gives_the_same_bytes() -> None:
    created = make_sample().collect_events()[0]

    first = new_mapper().to_stored_event(created)
    second = new_mapper().to_stored_event(created)
    again = new_mapper().to_stored_event(new_mapper().to_domain_event(first))

    assert first.state == second.state == again.state


def test_a_stored_state_takes_about_its_length_in_memory() -> None:
    """A memory store keeps stored events: each must not hold orjson's 4 KiB buffer."""
    import tracemalloc

    created = make_sample().collect_events()[0]
    mapper = new_mapper()
    mapper.to_stored_event(created)  # its codec is built once, outside the count
    tracemalloc.start()
    try:
        kept = [mapper.to_stored_event(created) for _ in range(200)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    length = len(kept[0].state)
    assert length < 2_000, "a sample well under orjson's 4 KiB buffer"
    assert held / len(kept) < length + 1_000, "about the state's length plus a few objects"


def test_an_originator_id_given_as_str_comes_back_as_uuid() -> None:
    mapper = new_mapper()
    added = _added_event()
    stored = mapper.to_stored_event(added)
    from_sqlite = StoredEvent(
        originator_id=str(stored.originator_id),
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state,
    )

    restored = mapper.to_domain_event(from_sqlite)

    assert restored.originator_id == added.originator_id
    assert isinstance(restored.originator_id, UUID)


def test_compression_is_still_applied_and_reversed() -> None:
    mapper = new_mapper(COMPRESS="y")
    added = _added_event()

    stored = mapper.to_stored_event(added)

    plain = new_mapper().to_stored_event(added).state
    assert stored.state != plain
    assert zlib.decompress(stored.state) == plain
    assert mapper.to_domain_event(stored) == added


def test_encryption_is_still_applied_after_compression_and_reversed() -> None:
    key = AESCipher.create_key(16)
    mapper = new_mapper(CIPHER_KEY=key, COMPRESS="y")
    added = _added_event()

    stored = mapper.to_stored_event(added)

    plain = new_mapper().to_stored_event(added).state
    assert stored.state != plain
    assert b"laptop" not in stored.state
    decrypted = AESCipher(Environment(env={"CIPHER_KEY": key})).decrypt(stored.state)
    assert zlib.decompress(decrypted) == plain
    assert mapper.to_domain_event(stored) == added


def test_a_stored_v1_payload_is_upcast_to_the_current_class_version() -> None:
    mapper = new_mapper()
    originator_id = uuid4()
    stored_v1 = StoredEvent(
        originator_id=originator_id,
        originator_version=3,
        topic="tests.mapper:Sample.Renamed",
        state=orjson.dumps({"timestamp": "2025-01-02T03:04:05+00:00", "name": "Ops rotation"}),
    )

    renamed = mapper.to_domain_event(stored_v1)

    assert type(renamed) is Sample.Renamed
    assert renamed.name == "Ops rotation"
    assert renamed.reason == "not recorded"
    assert renamed.originator_id == originator_id
    assert renamed.originator_version == 3
    assert renamed.timestamp == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert orjson.loads(mapper.to_stored_event(renamed).state)["class_version"] == 2


def test_a_snapshot_round_trip_gives_value_objects_and_dates_back() -> None:
    mapper = new_mapper()
    sample = make_sample()
    sample.add_item(Item("phone", Money(300, "USD"), Colour.RED))
    sample.collect_events()
    snapshot = Snapshot.take(sample)

    restored = mapper.to_domain_event(mapper.to_stored_event(snapshot))

    assert type(restored) is Snapshot
    assert restored == snapshot
    state = restored.state
    assert isinstance(state["items"][2], Item)
    assert isinstance(state["items"][0].price, Money)
    assert type(state["starts"]) is date
    assert isinstance(state["_created_on"], datetime)
    assert isinstance(state["_modified_on"], datetime)
    assert all(isinstance(key, UUID) for key in state["holders"])
    assert state["colour"] is Colour.GREEN
    reconstructed = restored.mutate(None)
    assert reconstructed == sample
    assert reconstructed.items == sample.items


def test_a_snapshot_of_an_older_aggregate_version_is_upcast_then_typed() -> None:
    mapper = new_mapper()
    aggregate_id = uuid4()
    stored_v1 = StoredEvent(
        originator_id=str(aggregate_id),
        originator_version=4,
        topic="eventsourcing.domain:Snapshot",
        state=orjson.dumps(
            {
                "timestamp": "2025-01-02T03:04:05+00:00",
                "topic": "tests.mapper:Versioned",
                "state": {
                    "_created_on": "2025-01-01T00:00:00+00:00",
                    "_modified_on": "2025-01-02T00:00:00+00:00",
                    "starts": "2025-04-01",
                },
            }
        ),
    )

    snapshot = mapper.to_domain_event(stored_v1)
    versioned = snapshot.mutate(None)

    assert isinstance(versioned, Versioned)
    assert versioned.id == aggregate_id
    assert versioned.version == 4
    assert versioned.starts == versioned.ends == date(2025, 4, 1)
    assert type(versioned.ends) is date
    assert snapshot.state["class_version"] == 2


def test_a_corrupt_payload_raises_a_deserialisation_error_naming_the_event() -> None:
    mapper = new_mapper()
    stored = mapper.to_stored_event(_added_event())
    corrupt = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state[:-5],
    )

    with pytest.raises(MapperDeserialisationError) as raised:
        mapper.to_domain_event(corrupt)

    message = str(raised.value)
    assert "tests.mapper:Sample.ItemAdded" in message
    assert str(stored.originator_id) in message
    assert f"originator_version {stored.originator_version}" in message


def test_a_payload_of_the_wrong_shape_raises_a_deserialisation_error() -> None:
    mapper = new_mapper()
    wrong = StoredEvent(
        originator_id=uuid4(),
        originator_version=2,
        topic="tests.mapper:Sample.ItemAdded",
        state=orjson.dumps(
            {"timestamp": "2025-01-02T03:04:05+00:00", "item": {"label": "pen", "price": 3}}
        ),
    )

    with pytest.raises(MapperDeserialisationError, match=r"Sample\.ItemAdded.*price"):
        mapper.to_domain_event(wrong)


@pytest.mark.parametrize(
    ("field", "text"),
    [("starts", "2025-02-30"), ("timestamp", "yesterday"), ("starts", "2025-03-01T10:00")],
)
def test_a_date_or_time_that_does_not_parse_names_its_field(field: str, text: str) -> None:
    mapper = new_mapper()
    stored = mapper.to_stored_event(make_sample().collect_events()[0])
    state = orjson.loads(stored.state)
    state[field] = text
    broken = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=orjson.dumps(state),
    )

    with pytest.raises(MapperDeserialisationError, match=rf"Sample\.Created.*\$\.{field}"):
        mapper.to_domain_event(broken)


def test_dates_times_and_ids_are_parsed_from_their_text() -> None:
    mapper = new_mapper()
    event = make_sample().collect_events()[0]
    back = mapper.to_domain_event(mapper.to_stored_event(event))
    assert (type(back.starts), back.starts) == (date, event.starts)
    assert (type(back.timestamp), back.timestamp) == (datetime, event.timestamp)
    assert (type(back.originator_id), back.originator_id) == (UUID, event.originator_id)


def test_a_payload_missing_a_field_raises_a_deserialisation_error() -> None:
    mapper = new_mapper()
    missing = StoredEvent(
        originator_id=uuid4(),
        originator_version=2,
        topic="tests.mapper:Sample.ItemAdded",
        state=orjson.dumps({"timestamp": "2025-01-02T03:04:05+00:00"}),
    )

    with pytest.raises(MapperDeserialisationError, match="missing field 'item'"):
        mapper.to_domain_event(missing)


def test_an_unknown_topic_raises_a_deserialisation_error_naming_the_topic() -> None:
    mapper = new_mapper()
    unknown = StoredEvent(
        originator_id=uuid4(),
        originator_version=1,
        topic="tests.mapper:NoSuchThing.Happened",
        state=b"{}",
    )

    with pytest.raises(MapperDeserialisationError, match=r"tests\.mapper:NoSuchThing\.Happened"):
        mapper.to_domain_event(unknown)


def test_a_wrong_cipher_key_raises_a_deserialisation_error() -> None:
    stored = new_mapper(CIPHER_KEY=AESCipher.create_key(16)).to_stored_event(_added_event())

    with pytest.raises(MapperDeserialisationError, match=r"Sample\.ItemAdded"):
        new_mapper(CIPHER_KEY=AESCipher.create_key(16)).to_domain_event(stored)


def test_make_converter_returns_a_new_converter_each_time() -> None:
    assert make_converter() is not make_converter()


money = st.builds(
    Money,
    amount=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    currency=st.text(max_size=5),
)
items = st.builds(
    Item,
    label=st.text(),
    price=money,
    colour=st.sampled_from(Colour),
    due=st.none() | st.dates(),
)
PROPERTY_MAPPER = new_mapper()


@settings(database=None, max_examples=200)
@given(item=items, version=st.integers(min_value=2, max_value=2**31))
def test_any_value_object_survives_a_round_trip(item: Item, version: int) -> None:
    added = Sample.ItemAdded(
        originator_id=uuid4(),
        originator_version=version,
        timestamp=Sample.ItemAdded.create_timestamp(),
        item=item,
    )

    stored = PROPERTY_MAPPER.to_stored_event(added)
    restored = PROPERTY_MAPPER.to_domain_event(stored)

    assert restored == added
    assert PROPERTY_MAPPER.to_stored_event(restored).state == stored.state


def test_an_application_saves_snapshots_and_reloads_the_aggregate(tmp_path: Path) -> None:
    env = {
        "MAPPER_TOPIC": "adapters.mapper:CattrsMapper",
        "IS_SNAPSHOTTING_ENABLED": "y",
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "mapper.db"),
    }
    app = SampleApplication(env=env)
    assert isinstance(app.mapper, CattrsMapper)
    sample = make_sample()
    sample.add_item(Item("phone", Money(300, "USD"), Colour.RED, due=date(2025, 5, 1)))
    app.save(sample)
    app.take_snapshot(sample.id)
    sample.rename("Platform rotation", reason="scope grew")
    app.save(sample)
    app.close()

    reopened = SampleApplication(env=env)
    assert reopened.snapshots is not None
    snapshots = list(reopened.snapshots.get(sample.id))
    reloaded = reopened.repository.get(sample.id)
    events = list(reopened.events.get(sample.id))
    reopened.close()

    assert len(snapshots) == 1
    assert snapshots[0].originator_version == 2
    assert isinstance(snapshots[0].state["items"][2], Item)
    assert reloaded == sample
    assert reloaded.name == "Platform rotation"
    assert isinstance(reloaded.items[2].price, Money)
    assert type(reloaded.items[2].due) is date
    assert [type(e) for e in events] == [Sample.Created, Sample.ItemAdded, Sample.Renamed]
    assert all(isinstance(e.originator_id, UUID) for e in events)


def _added_event() -> Sample.ItemAdded:
    sample = make_sample()
    sample.add_item(Item("laptop", Money(1500, "EUR"), Colour.RED, due=date(2025, 3, 3)))
    added = sample.collect_events()[1]
    assert isinstance(added, Sample.ItemAdded)
    return added
