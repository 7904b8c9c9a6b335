"""The contract every `rotation_domain.consumers.ConsumerStore` keeps, as reusable tests.

A store author subclasses `ConsumerStoreContract` in a ``test_*.py`` module (this
module is not one, so pytest does not collect the abstract class) and implements
`ConsumerStoreContract.make_store`. If the store needs a database prepared per test
(a temporary file, a fresh schema), override the ``store_target`` fixture: whatever
it returns is ``self.target`` when ``make_store`` runs, and because the contract's
own fixture depends on it, every store the test opened is closed before the target
is torn down. For example::

    class TestMyStore(ConsumerStoreContract):
        @pytest.fixture
        def store_target(self, tmp_path: Path) -> object:
            return tmp_path / "events.db"

        def make_store(self) -> ConsumerStore:
            return MyStore(str(self.target))

``make_store`` may be called more than once in a test: each call opens another store
on the same database (as a second runner would), and a store kept in process memory
returns the same one. Tests open stores with `ConsumerStoreContract.open_store`,
which closes them after the test.

With ``--import-mode=importlib`` this module cannot be imported by name from a test
module; load it by its path, as ``test_consumer_stores.py`` does.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rotation_domain.consumers import (
    ConsumerStore,
    Delivery,
    PositionConflict,
    ViewCommit,
    key_for,
)

__all__ = ["ConsumerStoreContract"]

DOCS: list[dict[str, Any]] = [
    {},
    {"name": "Zoë Ångström", "note": "日本語 ✓ 🚀", "empty": "", "nul": "a\u0000b"},
    {"nested": {"a": [1, 2, {"b": None}], "c": {"d": {"e": True}}}, "list": [[], [[]]]},
    {"int": 2**53 - 1, "neg": -(2**31), "float": 0.1, "exp": 1.5e-300, "bools": [True, False]},
    {"quotes": "\"'\\/", "newline": "a\nb\tc"},
]
ODD_KEYS = [
    "a",
    "a%",
    "a%b",
    "a_",
    "a_b",
    "a/b",
    "aB",
    "ab",
    "abc",
    "a\u00e9",
    "a\uffff",
    "a\U0001f600",
    "a\U0010ffff",
    "a\U0010ffffz",
    "A",
    "b",
    "%",
    "_",
    "",
]


class ConsumerStoreContract(ABC):
    """Tests every consumer store must pass; subclass it and implement `make_store`."""

    target: Any = None
    """What the ``store_target`` fixture returned for this test."""

    @abstractmethod
    def make_store(self) -> ConsumerStore:
        """Open a store on this test's database (``self.target``)."""

    @pytest.fixture
    def store_target(self) -> object:
        """Prepare this test's database; override it when a store needs one."""
        return None

    @pytest.fixture(autouse=True)
    def _contract_stores(self, store_target: object) -> Iterator[None]:
        self.target = store_target
        self._opened: list[ConsumerStore] = []
        yield
        for store in reversed(self._opened):
            store.close()

    def open_store(self) -> ConsumerStore:
        """A store made by `make_store`, closed after the test."""
        store = self.make_store()
        self._opened.append(store)
        return store

    # Positions

    def test_positions_start_at_zero(self) -> None:
        store = self.open_store()
        assert store.position("nobody") == 0
        assert store.view_version("nobody") is None
        assert dict(store.positions()) == {}

    def test_commit_view_writes_rows_position_and_version(self) -> None:
        store = self.open_store()
        changes = {"v1": {"k1": {"n": 1}, "k2": {"n": 2}}, "v2": {"k1": {"m": 1}}}
        store.commit_view("c", 3, changes, expected=0, position=5)
        assert store.position("c") == 5
        assert store.view_version("c") == 3
        assert store.reader("v1").get("k1") == {"n": 1}
        assert store.reader("v1").get("k2") == {"n": 2}
        assert store.reader("v2").get("k1") == {"m": 1}
        assert store.reader("v2").get("k2") is None
        store.commit_view("c", 4, {"v1": {"k1": {"n": 10}}}, expected=5, position=9)
        assert (store.position("c"), store.view_version("c")) == (9, 4)
        assert store.reader("v1").get("k1") == {"n": 10}

    def test_commit_view_with_no_changes_moves_the_position(self) -> None:
        store = self.open_store()
        store.commit_view("c", 1, {}, expected=0, position=7)
        store.commit_view("c", 1, {"v": {}}, expected=7, position=8)
        assert store.position("c") == 8

    def test_a_conflicting_commit_writes_nothing(self) -> None:
        store = self.open_store()
        store.commit_view("c", 1, {"v": {"k": {"n": 1}, "gone": {"n": 0}}}, expected=0, position=4)
        for expected in (0, 3, 5):
            with pytest.raises(PositionConflict):
                store.commit_view(
                    "c",
                    2,
                    {"v": {"k": {"n": 2}, "new": {"n": 3}, "gone": None}, "w": {"k": {}}},
                    expected=expected,
                    position=9,
                )
        assert (store.position("c"), store.view_version("c")) == (4, 1)
        assert list(store.reader("v").scan()) == [("gone", {"n": 0}), ("k", {"n": 1})]
        assert list(store.reader("w").scan()) == []

    def test_commit_views_commits_several_consumers_at_once(self) -> None:
        store = self.open_store()
        store.commit_views(
            [
                ViewCommit("a", 1, {"a": {"k": {"n": 1}}}, 0, 10),
                ViewCommit("b", 2, {"b": {"k": {"n": 2}}}, 0, 10),
            ]
        )
        assert (store.position("a"), store.position("b")) == (10, 10)
        assert store.view_version("b") == 2
        assert store.reader("a").get("k") == {"n": 1}
        assert store.reader("b").get("k") == {"n": 2}

    def test_commit_views_writes_nothing_when_one_position_conflicts(self) -> None:
        store = self.open_store()
        store.commit_view("b", 1, {}, expected=0, position=5)
        with pytest.raises(PositionConflict):
            store.commit_views(
                [
                    ViewCommit("a", 1, {"a": {"k": {"n": 1}}}, 0, 10),
                    ViewCommit("b", 1, {"b": {"k": {"n": 2}}}, 0, 10),
                ]
            )
        assert (store.position("a"), store.position("b")) == (0, 5)
        assert store.reader("a").get("k") is None
        assert store.reader("b").get("k") is None

    def test_a_first_commit_expects_zero(self) -> None:
        store = self.open_store()
        with pytest.raises(PositionConflict):
            store.commit_view("c", 1, {"v": {"k": {}}}, expected=2, position=3)
        assert store.position("c") == 0
        assert store.reader("v").get("k") is None
        assert dict(store.positions()) == {}

    def test_a_document_that_is_not_json_writes_nothing(self) -> None:
        store = self.open_store()
        with pytest.raises(TypeError):
            store.commit_view(
                "c", 1, {"v": {"a": {"n": 1}, "b": {"s": {1, 2}}}}, expected=0, position=1
            )
        assert store.position("c") == 0
        assert store.reader("v").get("a") is None

    def test_none_deletes_a_row(self) -> None:
        store = self.open_store()
        store.commit_view("c", 1, {"v": {"a": {"n": 1}, "b": {"n": 2}}}, expected=0, position=1)
        store.commit_view("c", 1, {"v": {"a": None, "missing": None}}, expected=1, position=2)
        assert store.reader("v").get("a") is None
        assert list(store.reader("v").scan()) == [("b", {"n": 2})]

    def test_views_are_separate(self) -> None:
        store = self.open_store()
        store.commit_view("c", 1, {"v": {"k": {"v": 1}}}, expected=0, position=1)
        store.commit_view("d", 1, {"w": {"k": {"w": 1}}}, expected=0, position=1)
        assert store.reader("v").get("k") == {"v": 1}
        assert store.reader("w").get("k") == {"w": 1}
        assert store.reader("x").get("k") is None
        assert list(store.reader("x").scan()) == []

    # Rows

    def test_documents_round_trip(self) -> None:
        store = self.open_store()
        rows = {f"k{n}": doc for n, doc in enumerate(DOCS)}
        store.commit_view("c", 1, {"v": rows}, expected=0, position=1)
        reader = store.reader("v")
        for key, doc in rows.items():
            assert reader.get(key) == doc
        assert dict(reader.scan()) == rows

    def test_stored_documents_are_not_shared_with_the_caller(self) -> None:
        store = self.open_store()
        doc: dict[str, Any] = {"list": [1]}
        store.commit_view("c", 1, {"v": {"k": doc}}, expected=0, position=1)
        doc["list"].append(2)
        got = store.reader("v").get("k")
        assert got == {"list": [1]}
        got["list"].append(3)
        assert store.reader("v").get("k") == {"list": [1]}

    def test_scan_orders_by_key_and_takes_prefixes_literally(self) -> None:
        store = self.open_store()
        store.commit_view("c", 1, {"v": {k: {"k": k} for k in ODD_KEYS}}, expected=0, position=1)
        reader = store.reader("v")
        assert [k for k, _ in reader.scan()] == sorted(ODD_KEYS)
        for prefix in ("", "a", "a%", "a_", "%", "_", "a\U0010ffff", "aB", "ab", "z"):
            expected = sorted(k for k in ODD_KEYS if k.startswith(prefix))
            got = list(reader.scan(prefix))
            assert [k for k, _ in got] == expected, prefix
            assert all(doc == {"k": k} for k, doc in got)

    def test_scan_orders_numbered_keys(self) -> None:
        store = self.open_store()
        keys = [key_for("r", n, "x") for n in (10, 2, 300, 1)] + [key_for("s", 1)]
        store.commit_view("c", 1, {"v": {k: {} for k in keys}}, expected=0, position=1)
        assert [k for k, _ in store.reader("v").scan("r/")] == sorted(keys[:4])

    def test_a_reader_sees_later_commits(self) -> None:
        store = self.open_store()
        reader = store.reader("v")
        assert reader.get("k") is None
        store.commit_view("c", 1, {"v": {"k": {"n": 1}}}, expected=0, position=1)
        assert reader.get("k") == {"n": 1}
        assert list(reader.scan()) == [("k", {"n": 1})]

    def test_another_store_on_the_database_sees_committed_state(self) -> None:
        first = self.open_store()
        first.commit_view("c", 2, {"v": {"k": {"n": 1}}}, expected=0, position=3)
        first.record_failure(Delivery("i", 1, 1, "retrying", "boom"))
        second = self.open_store()
        assert (second.position("c"), second.view_version("c")) == (3, 2)
        assert second.reader("v").get("k") == {"n": 1}
        assert [d.position for d in second.failures("i")] == [1]
        second.commit_view("c", 2, {"v": {"k": None}}, expected=3, position=4)
        with pytest.raises(PositionConflict):
            first.commit_view("c", 2, {}, expected=3, position=4)
        assert first.reader("v").get("k") is None

    def test_a_page_of_a_thousand_changes_commits_in_one_call(self) -> None:
        store = self.open_store()
        page = {key_for("row", n): {"n": n, "name": f"row {n}"} for n in range(1000)}
        store.commit_view("c", 1, {"v": page}, expected=0, position=1000)
        assert len(list(store.reader("v").scan())) == 1000
        second: dict[str, dict[str, Any] | None] = {
            key_for("row", n): None if n % 2 else {"n": -n} for n in range(1000)
        }
        store.commit_view("c", 1, {"v": second, "w": page}, expected=1000, position=2000)
        rows = list(store.reader("v").scan())
        assert [k for k, _ in rows] == [key_for("row", n) for n in range(0, 1000, 2)]
        assert all(doc == {"n": -int(k.split("/")[1])} for k, doc in rows)
        assert len(list(store.reader("w").scan())) == 1000

    # Reset

    def test_reset_views_drops_those_consumers_rows_positions_and_failures_only(self) -> None:
        store = self.open_store()
        store.commit_view("a", 2, {"a": {"k": {}, "l": {}}}, expected=0, position=5)
        store.commit_view("b", 1, {"b": {"k": {}}}, expected=0, position=6)
        store.commit_view("c", 1, {"c": {"k": {"n": 1}}}, expected=0, position=7)
        for consumer in ("a", "b", "c"):
            store.record_failure(Delivery(consumer, 3, 1, "retrying", "boom"))
        store.reset_views(["a", "b"])
        for consumer in ("a", "b"):
            assert store.position(consumer) == 0
            assert store.view_version(consumer) is None
            assert store.failures(consumer) == []
            assert list(store.reader(consumer).scan()) == []
        assert store.position("c") == 7
        assert store.reader("c").get("k") == {"n": 1}
        assert [d.consumer for d in store.failures("c")] == ["c"]
        store.reset_views(["c", "a"])  # every view that has rows (and one with none)
        assert list(store.reader("c").scan()) == []
        assert store.position("c") == 0
        store.commit_view("a", 3, {"a": {"m": {}}}, expected=0, position=9)
        assert [k for k, _ in store.reader("a").scan()] == ["m"]

    # Bulk writes

    def test_commits_in_bulk_writes_are_kept_and_read_like_any_other(self) -> None:
        store = self.open_store()
        with store.bulk_writes():
            store.reset_views(["a"])
            store.commit_view("a", 1, {"a": {"k": {"n": 1}}}, expected=0, position=3)
            assert store.reader("a").get("k") == {"n": 1}
            store.commit_view("a", 1, {"a": {"k": {"n": 2}, "l": {}}}, expected=3, position=8)
        assert store.position("a") == 8
        assert dict(store.reader("a").scan()) == {"k": {"n": 2}, "l": {}}
        store.commit_view("a", 1, {"a": {"k": None}}, expected=8, position=9)
        assert dict(store.reader("a").scan()) == {"l": {}}

    def test_bulk_writes_end_cleanly_when_their_block_raises(self) -> None:
        store = self.open_store()

        def commit_then_fail() -> None:
            with store.bulk_writes():
                store.commit_view("a", 1, {"a": {"k": {}}}, expected=0, position=3)
                raise RuntimeError("stop")

        with pytest.raises(RuntimeError, match="stop"):
            commit_then_fail()
        assert store.position("a") == 3
        with store.bulk_writes():  # a second block works as the first did
            store.commit_view("a", 1, {"a": {"l": {}}}, expected=3, position=4)
        assert [k for k, _ in store.reader("a").scan()] == ["k", "l"]

    def test_reset_view_drops_that_consumers_rows_position_and_failures_only(self) -> None:
        store = self.open_store()
        store.commit_view("a", 2, {"v1": {"k": {}}, "v2": {"k": {}}}, expected=0, position=5)
        store.commit_view("b", 1, {"v3": {"k": {}}}, expected=0, position=6)
        store.advance("i", expected=0, position=4)
        for consumer in ("a", "b", "i"):
            store.record_failure(Delivery(consumer, 3, 1, "retrying", "boom"))
        store.reset_view("a", ["v1", "v2"])
        assert store.position("a") == 0
        assert store.view_version("a") is None
        assert store.failures("a") == []
        assert list(store.reader("v1").scan()) == []
        assert list(store.reader("v2").scan()) == []
        assert store.reader("v3").get("k") == {}
        assert {c: p for c, p in store.positions().items() if p} == {"b": 6, "i": 4}
        assert [d.consumer for d in store.failures("b") + store.failures("i")] == ["b", "i"]
        store.commit_view("a", 3, {"v1": {"k": {"again": 1}}}, expected=0, position=1)
        assert (store.position("a"), store.view_version("a")) == (1, 3)

    # Integrations

    def test_advance_moves_a_position_conditionally(self) -> None:
        store = self.open_store()
        store.advance("i", expected=0, position=3)
        store.advance("i", expected=3, position=4)
        assert store.position("i") == 4
        assert store.view_version("i") is None
        for expected in (0, 3, 5):
            with pytest.raises(PositionConflict):
                store.advance("i", expected=expected, position=9)
        assert store.position("i") == 4
        with pytest.raises(PositionConflict):
            store.advance("new", expected=1, position=2)
        assert "new" not in store.positions()

    def test_failures_upsert_list_and_clear(self) -> None:
        store = self.open_store()
        due = datetime(2027, 1, 1, 9, 30, tzinfo=UTC)
        store.record_failure(Delivery("i", 7, 1, "retrying", "timeout", due))
        store.record_failure(Delivery("i", 3, 1, "retrying", "500", due + timedelta(seconds=1)))
        store.record_failure(Delivery("j", 3, 1, "retrying", "other consumer"))
        store.record_failure(Delivery("i", 5, 5, "parked", "gave up"))
        assert [d.position for d in store.failures("i")] == [3, 5, 7]
        store.record_failure(Delivery("i", 7, 2, "retrying", "timeout again", due))
        store.record_failure(Delivery("i", 3, 3, "parked", "giving up"))
        assert store.failures("i") == [
            Delivery("i", 3, 3, "parked", "giving up"),
            Delivery("i", 5, 5, "parked", "gave up"),
            Delivery("i", 7, 2, "retrying", "timeout again", due),
        ]
        store.clear_failure("i", 5)
        store.clear_failure("i", 99)
        assert [d.position for d in store.failures("i")] == [3, 7]
        assert store.failures("j") == [Delivery("j", 3, 1, "retrying", "other consumer")]
        assert store.failures("nobody") == []

    def test_positions_lists_every_consumer(self) -> None:
        store = self.open_store()
        store.commit_view("view", 1, {}, expected=0, position=10)
        store.advance("integration", expected=0, position=7)
        assert dict(store.positions()) == {"view": 10, "integration": 7}

    # Concurrency

    @pytest.mark.parametrize("shared", [True, False], ids=["one-store", "two-stores"])
    def test_one_of_two_concurrent_runners_wins(self, shared: bool) -> None:
        first = self.open_store()
        second = first if shared else self.open_store()
        for round_ in range(10):
            expected = first.position("c")
            outcomes = _race({"x": first, "y": second}, expected, round_)
            assert sorted(outcomes.values()) == ["conflict", "won"]
            (winner,) = (name for name, outcome in outcomes.items() if outcome == "won")
            (loser,) = set(outcomes) - {winner}
            reader = first.reader("v")
            assert first.position("c") == expected + 1
            assert reader.get("winner") == {"name": winner}
            assert reader.get(winner) == {"round": round_}
            assert reader.get(loser) != {"round": round_}


def _race(stores: dict[str, ConsumerStore], expected: int, round_: int) -> dict[str, str]:
    """Let each named store commit from ``expected`` at the same moment; who won?"""
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(len(stores))

    def run(name: str, store: ConsumerStore) -> None:
        changes: dict[str, dict[str, Any]] = {
            "v": {"winner": {"name": name}, name: {"round": round_}}
        }
        barrier.wait()
        try:
            store.commit_view("c", 1, changes, expected=expected, position=expected + 1)
            outcomes[name] = "won"
        except PositionConflict:
            outcomes[name] = "conflict"

    threads = [threading.Thread(target=run, args=item) for item in stores.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
