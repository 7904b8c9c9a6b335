"""Views rebuilt in place (`rotation_domain.rebuild`) give exactly the rows of the general fold.

The general fold (`runners.catch_up_views` over overlays with a journal, handlers given
copies) is the reference: every test rebuilds the same log both ways and compares every
row of every view, on memory, SQLite and PostgreSQL, with pages and row limits small enough that
documents are committed many times and forgotten and read back from the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from tests.conftest import seed_company
from tests.unit.test_default_views import story

from rotation_domain import (
    RotationProgram,
    event_consumers,
    hookimpl,
    open_program,
    rebuild,
    runners,
)
from rotation_domain.consumers import Envelope, PositionConflict, Rows
from rotation_domain.default_views._base import HandlerView, editable
from rotation_domain.default_views.participation import ParticipationView

Doc = dict[str, Any]


def d(month: int, day: int) -> date:
    return date(2027, month, day)


def every_row(program: RotationProgram) -> dict[str, list[tuple[str, Doc]]]:
    program.consumers.commit_views()  # the rows folded after the last commands, if any
    store = program.consumers.store
    return {name: list(store.reader(name).scan()) for name in program.consumers.views}


def told_more(program: RotationProgram) -> None:
    """The views' story, then moves, a departure and a forgotten person (a row scan)."""
    seed_company(program)
    story(program)
    with program.acting_as("cio@example.com"):
        program.transfer_employee("E5", to_department="IT", on=d(4, 1))
        program.depart_employee("E3", on=d(4, 2))
        program.grant_exemption("E2", "2027-H1", reason="Long leave")
        program.forget_employee("E2", reason="Asked to be forgotten")


@pytest.fixture
def program(store_url: str) -> Iterator[RotationProgram]:
    """A program that lived the story, on memory, on a SQLite file and on PostgreSQL."""
    with open_program(store_url, today=lambda: d(1, 1)) as opened:
        told_more(opened)
        yield opened


def rebuilt_the_general_way(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[tuple[str, Doc]]]:
    """Every row after a rebuild with in-place rebuilds off: the reference."""
    with monkeypatch.context() as patch:
        patch.setattr(HandlerView, "rebuilds_in_place", False)
        program.rebuild()
    return every_row(program)


def positions(program: RotationProgram) -> dict[str, int]:
    return {s.name: s.position for s in program.consumer_status() if s.kind == "view"}


@pytest.mark.parametrize(("page", "limit"), [(100_000, 400_000), (3, 400_000), (7, 5), (1, 40)])
def test_an_in_place_rebuild_gives_every_row_of_the_general_fold(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch, page: int, limit: int
) -> None:
    general = rebuilt_the_general_way(program, monkeypatch)
    monkeypatch.setattr(rebuild, "PAGE_EVENTS", page)
    monkeypatch.setattr(event_consumers, "REBUILD_PAGE_SIZE", page)
    monkeypatch.setattr(rebuild, "ROW_LIMIT", limit)
    commits: list[int] = []
    store = program.consumers.store
    commit_views = store.commit_views

    def counted(batch: Any) -> None:
        commits.append(len(batch))
        commit_views(batch)

    monkeypatch.setattr(store, "commit_views", counted)

    program.rebuild()

    assert every_row(program) == general
    head = program.app.recorder.max_notification_id() or 0
    assert positions(program) == dict.fromkeys(program.consumers.views, head)
    if page < 10:
        assert len(commits) > 10  # committed page after page, not once


def test_a_rebuild_of_the_standard_views_is_in_place_in_one_pass(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    general = rebuilt_the_general_way(program, monkeypatch)
    folded_in_place: list[int] = []
    real = rebuild.rebuild_in_place

    def spy(*args: Any, **kwargs: Any) -> tuple[int, list[runners.ViewRunner]]:
        folded_in_place.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(runners, "rebuild_in_place", spy)

    program.rebuild()

    assert folded_in_place == [5]  # the five standard views, together
    assert every_row(program) == general


def test_commands_after_an_in_place_rebuild_fold_into_its_rows(
    program: RotationProgram,
) -> None:
    program.rebuild()
    with program.acting_as("cio@example.com"):
        rotation = program.plan_rotation("E1", host_department="OPS", start=d(8, 2), end=d(8, 20))
        mentorship = program.nominate_mentor(rotation, mentor="M3")
    program.accept_mentorship(mentorship, actor="M3")
    program.catch_up()  # PostgreSQL folds no views inside commands: a worker would
    folded = every_row(program)

    program.rebuild()

    assert every_row(program) == folded
    assert "mentee:E1" in dict(folded["mentor_engagement"])["mentor/M3"]["counts"]


class Brittle(HandlerView):
    """A view that counts departments and fails on the department ``OPS``."""

    name = "brittle"

    def _registered(self, envelope: Envelope, rows: Rows) -> None:
        if envelope.event.code == "OPS":
            raise ValueError("OPS is not handled")
        doc = editable(rows, "count")
        doc["n"] = doc.get("n", 0) + 1
        rows.put("count", doc)

    def __init__(self) -> None:
        self.handlers = {"rotation_domain:DepartmentRegistered": self._registered}
        self.topics = frozenset(self.handlers)


class BrittlePlugin:
    @hookimpl
    def rotation_views(self, settings: Any) -> list[Brittle]:
        return [Brittle()]


def test_a_view_failing_in_place_goes_the_general_way_and_its_event_is_parked(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = BrittlePlugin()
    with open_program(store_url, today=lambda: d(1, 1), plugins=[plugin]) as program:
        told_more(program)
        store = program.consumers.store
        head = program.app.recorder.max_notification_id() or 0
        outcomes = []
        for in_place in (False, True):
            monkeypatch.setattr(HandlerView, "rebuilds_in_place", in_place)

            program.rebuild()

            parked = [(f.position, f.status) for f in store.failures("brittle")]
            outcomes.append((every_row(program), parked))
            assert positions(program) == dict.fromkeys(program.consumers.views, head)
    assert outcomes[1] == outcomes[0]
    rows, parked = outcomes[1]
    assert [status for _, status in parked] == ["parked"]
    assert rows["brittle"] == [("count", {"n": 4})]  # every department but OPS


def test_an_event_that_cannot_be_decoded_sends_its_views_the_general_way(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapper: Any = program.app.mapper
    registered = [
        n.id
        for n in program.app.recorder.select_notifications(start=1, limit=1_000)
        if n.topic == "rotation_domain:EmployeeRegistered"
    ]
    broken = registered[2]  # the participation view reads it; capacity does not
    for method in ("to_domain_event", "to_domain_event_withholding"):
        decode = getattr(mapper, method)

        def failing(stored: Any, *args: Any, _decode: Any = decode) -> Any:
            if getattr(stored, "id", None) == broken:
                raise ValueError("a damaged state")
            return _decode(stored, *args)

        monkeypatch.setattr(mapper, method, failing)
    store = program.consumers.store
    outcomes = []
    for in_place in (False, True):
        monkeypatch.setattr(HandlerView, "rebuilds_in_place", in_place)
        program.rebuild()
        failures = {
            name: [(f.position, f.status) for f in store.failures(name)]
            for name in program.consumers.views
        }
        outcomes.append((every_row(program), failures))
    assert outcomes[1] == outcomes[0]
    _, failures = outcomes[1]
    assert failures["participation"] == [(broken, "parked")]
    assert failures["capacity"] == []


def test_a_position_moved_by_another_runner_sends_the_rebuild_the_general_way(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    general = rebuilt_the_general_way(program, monkeypatch)
    monkeypatch.setattr(rebuild, "PAGE_EVENTS", 5)
    monkeypatch.setattr(event_consumers, "REBUILD_PAGE_SIZE", 5)
    store = program.consumers.store
    commit_views = store.commit_views
    calls = iter(range(1_000_000))

    def conflict_on_third(commits: Any) -> None:
        if next(calls) == 2:
            raise PositionConflict("moved by another runner")
        commit_views(commits)

    monkeypatch.setattr(store, "commit_views", conflict_on_third)

    program.rebuild()

    assert every_row(program) == general


class TestBatchRows:
    """The rows of a view rebuilt in place, over committed rows of a store."""

    @pytest.fixture
    def below(self) -> dict[str, Doc]:
        return {"a": {"n": 1}, "b": {"n": 2}, "c/x": {"n": 3}}

    def rows(self, below: dict[str, Doc], **kwargs: Any) -> rebuild.BatchRows:
        class Reader:
            def get(self, key: str) -> Doc | None:
                return below.get(key)

            def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
                return iter(sorted((k, v) for k, v in below.items() if k.startswith(prefix)))

        return rebuild.BatchRows(Reader(), **kwargs)

    def test_documents_are_handed_out_to_be_changed_where_they_lie(
        self, below: dict[str, Doc]
    ) -> None:
        rows = self.rows(below)
        doc = rows.edit("k")
        assert doc == {}
        assert rows.get("k") is None  # absent until put
        doc["n"] = 1
        rows.put("k", doc)
        assert rows.edit("k") is doc is rows.get("k")
        assert rows.take_changes() == {"k": {"n": 1}}
        assert rows.take_changes() == {}

    def test_a_complete_view_never_reads_the_store(self, below: dict[str, Doc]) -> None:
        rows = self.rows(below)
        assert rows.get("a") is None  # position 0: the store holds none of its rows
        assert list(rows.scan()) == []

    def test_past_its_limit_it_forgets_half_and_reads_the_store_again(self) -> None:
        stored: dict[str, Doc] = {}
        rows = self.rows(stored, limit=4)
        for n in range(6):
            rows.put(f"k{n}", {"n": n})
        rows.delete("k5")
        changes = rows.take_changes()
        stored.update({k: v for k, v in changes.items() if v is not None})  # the commit
        rows.committed(changes)
        assert not rows.complete
        assert len(rows.docs) == 3  # the newer half: k3, k4 and the deleted k5
        assert rows.get("k0") == {"n": 0}  # read back from the store
        assert rows.get("k5") is None  # a deleted row stays deleted
        rows.delete("k1")
        assert list(rows.scan("k")) == [(f"k{n}", {"n": n}) for n in (0, 2, 3, 4)]

    def test_only_forgotten_rows_are_read_again_from_the_store(self) -> None:
        stored: dict[str, Doc] = {}
        asked: list[str] = []
        rows = self.rows(stored, limit=2)
        original = rows.below.get

        def counting_get(key: str) -> Doc | None:
            asked.append(key)
            return original(key)

        rows.below.get = counting_get  # type: ignore[method-assign]
        for n in range(4):
            rows.put(f"k{n}", {"n": n})
        changes = rows.take_changes()
        stored.update(changes)  # type: ignore[arg-type]
        rows.committed(changes)
        assert rows.forgotten == {"k0", "k1"}
        assert rows.get("new") is None  # a new thing: no query
        assert rows.get("k2") == {"n": 2}  # still held: no query
        assert asked == []
        assert rows.get("k0") == {"n": 0}
        assert asked == ["k0"]
        assert rows.forgotten == {"k1"}  # held again
        assert rows.get("k0") == {"n": 0}
        assert asked == ["k0"]
        assert rows.get("k1") == {"n": 1}
        assert rows.complete  # every forgotten row was read back

    def test_the_participation_view_rebuilds_in_place(self) -> None:
        assert rebuild.rebuilds_in_place(runners.ViewRunner(None, None, ParticipationView()))  # type: ignore[arg-type]
