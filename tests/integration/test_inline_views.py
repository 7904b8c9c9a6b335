"""Views kept up to date after each command from the command's own events (`InlineViews`).

After a command in embedded mode, the views are folded from the events the command just
recorded, without reading the log back, as long as this process knows where every view
stands. These tests check it gives the rows of a rebuild, and that it notices when it
does not know: another program writing to the same file, another runner moving the
views, a view stopping on an event it will try again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import consumer_plugins as plugins
import harness
import pytest
import workload

from rotation_domain import InvalidInput, RotationProgram, open_program
from rotation_domain.inline_views import InlineViews
from rotation_domain.runners import catch_up_views


@pytest.fixture(autouse=True)
def only_known_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the standard views and the test consumers only, whatever else is installed."""
    monkeypatch.setenv("ROTATION_PLUGINS", "default_views,test_consumers")


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'inline.db'}"


class Counting:
    """Counts how often the general catch-up runs, and how often the command's events do."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.general = 0
        self.folded = 0
        catch_up, fold = InlineViews._catch_up, InlineViews._fold

        def counted_catch_up(inline: InlineViews) -> None:
            self.general += 1
            catch_up(inline)

        def counted_fold(inline: InlineViews, at: int, recordings: Any) -> None:
            self.folded += 1
            fold(inline, at, recordings)

        monkeypatch.setattr(InlineViews, "_catch_up", counted_catch_up)
        monkeypatch.setattr(InlineViews, "_fold", counted_fold)


def _ledger_total(program: RotationProgram) -> int:
    program.consumers.commit_views()
    doc = program.consumers.store.reader(plugins.LEDGER).get("total")
    return 0 if doc is None else int(doc["n"])


def _assert_equal_to_a_rebuild(program: RotationProgram) -> None:
    rows = harness.view_rows(program)
    program.rebuild()
    assert harness.differences(rows, harness.view_rows(program)) == []


def test_views_folded_from_each_command_equal_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(monkeypatch)
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    with open_program(_url(tmp_path), plugins=[plugin]) as program:
        codes = workload.record_company(program, staff=12)
        workload.record_rotations(program, codes)
        head = harness.head(program)
        assert _ledger_total(program) == head, "every event once in the ledger"
        assert set(harness.positions(program).values()) == {head}
        # One general catch-up when the program opened, then only the commands' events.
        assert counting.general == 1
        assert counting.folded > 100
        _assert_equal_to_a_rebuild(program)


def test_events_another_program_wrote_in_between_are_read_from_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(monkeypatch)
    url = _url(tmp_path)
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    with open_program(url, plugins=[plugin]) as first, open_program(url, plugins=[plugin]) as other:
        codes = workload.record_company(first, staff=8)
        general_before = counting.general
        workload.record_rotations(other, codes[:4])  # the first program does not know
        workload.record_rotations(first, codes[4:])
        head = harness.head(first)
        for program in (first, other):
            assert _ledger_total(program) == head, "no event missed or folded twice"
        assert counting.general > general_before, "the gap was noticed"
        _assert_equal_to_a_rebuild(first)


def test_views_moved_by_another_runner_are_caught_up_the_general_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(monkeypatch)
    url = _url(tmp_path)
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    with open_program(url, plugins=[plugin]) as program:
        codes = workload.record_company(program, staff=6)
        # Committed now, not by the timer: a timer's commit that came after the rebuild
        # below would find the views moved and rightly catch up the general way.
        program.consumers.commit_views()
        # Another process rebuilds the views while this one keeps its knowledge.
        with open_program(url, plugins=[plugin], inline=False) as rebuilder:
            rebuilder.rebuild()
        general_before = counting.general
        workload.record_rotations(program, codes)
        assert counting.general == general_before, "a rebuild to the same place changes nothing"
        with open_program(url, plugins=[plugin], inline=False) as mover:
            # Another runner moves the ledger past an event of its own.
            with mover.acting_as(workload.CIO):
                mover.register_department("EXTRA", name="Extra")
            mover.catch_up()
        workload.record_rotations(program, codes, round_=1)
        assert counting.general > general_before, "the moved position was noticed"
        assert _ledger_total(program) == harness.head(program)
        _assert_equal_to_a_rebuild(program)


class FailsTwiceAt:
    """A view that fails its first two attempts at one event (it has three)."""

    name = "test_fails_twice"
    version = 1
    topics: frozenset[str] = frozenset()
    max_attempts = 3

    def __init__(self, position: int) -> None:
        self.position = position
        self.attempts = 0

    def apply(self, envelope: Any, rows: Any) -> None:
        if envelope.position == self.position:
            self.attempts += 1
            if self.attempts <= 2:
                raise RuntimeError(f"event {self.position} cannot be folded yet")
        rows.put(f"event/{envelope.position:06d}", {})


def test_a_view_failing_on_a_commands_event_tries_it_again_after_the_next_commands(
    tmp_path: Path,
) -> None:
    url = _url(tmp_path)
    with open_program(url, plugins=[plugins.TestConsumers([plugins.LedgerView()])]) as program:
        workload.record_company(program, staff=2)
        failing_at = harness.head(program) + 1
    flaky = FailsTwiceAt(position=failing_at)
    plugin = plugins.TestConsumers([flaky, plugins.LedgerView()])
    seen = []
    with open_program(url, plugins=[plugin]) as program, program.acting_as(workload.CIO):
        for n in range(3):
            program.register_department(f"D{n}", name=f"Department {n}")
            status = {s.name: s for s in program.consumer_status()}
            seen.append((flaky.attempts, status[flaky.name].position, status[flaky.name].retrying))
            assert status[plugins.LEDGER].position == harness.head(program), "others went on"
        program.consumers.commit_views()
        rows = dict(program.consumers.store.reader(flaky.name).scan())
        head = harness.head(program)

    assert seen == [(1, failing_at - 1, 1), (2, failing_at - 1, 1), (3, head, 0)]
    assert sorted(rows) == [f"event/{n:06d}" for n in range(1, head + 1)]


def test_catch_ups_from_another_thread_while_commands_run_leave_every_event_once(
    tmp_path: Path,
) -> None:
    import threading

    plugin = plugins.TestConsumers([plugins.LedgerView()])
    with open_program(_url(tmp_path), plugins=[plugin]) as program:
        codes = workload.record_company(program, staff=6)
        done = threading.Event()
        errors: list[BaseException] = []

        def keep_catching_up() -> None:
            try:
                while not done.wait(0.001):
                    program.catch_up()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        reader = threading.Thread(target=keep_catching_up)
        reader.start()
        try:
            workload.record_rotations(program, codes)
        finally:
            done.set()
            reader.join()
        assert errors == []
        assert _ledger_total(program) == harness.head(program)
        _assert_equal_to_a_rebuild(program)


# Grouped commits (ADR 0009): folded rows wait in the process, at most the commit delay.


def _store_positions(program: RotationProgram) -> set[int]:
    """The views' positions as the store holds them, without committing anything first."""
    stored = program.consumers.store.positions()
    return {stored.get(name, 0) for name in program.consumers.views}


def test_folded_rows_wait_for_the_delay_but_a_read_sees_the_command(tmp_path: Path) -> None:
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    settings = {"ROTATION_VIEWS_COMMIT_DELAY": "30"}
    with open_program(_url(tmp_path), plugins=[plugin], settings=settings) as program:
        workload.record_company(program, staff=2)
        committed = _store_positions(program)
        with program.acting_as(workload.CIO):
            program.register_department("LATE", name="Late")
        assert _store_positions(program) == committed, "not committed yet"
        departments = {row.department for row in program.views.department_bridges()}
        assert "LATE" in departments, "a read commits first, so it sees the command"
        assert _store_positions(program) == {harness.head(program)}


def test_a_delay_of_zero_commits_after_every_command(tmp_path: Path) -> None:
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    settings = {"ROTATION_VIEWS_COMMIT_DELAY": "0"}
    url = _url(tmp_path)
    with (
        open_program(url, plugins=[plugin], settings=settings) as program,
        program.acting_as(workload.CIO),
    ):
        for n in range(3):
            program.register_department(f"D{n}", name=f"Department {n}")
            assert _store_positions(program) == {harness.head(program)}


def test_the_timer_commits_when_no_command_follows(tmp_path: Path) -> None:
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    url = _url(tmp_path)
    settings = {"ROTATION_VIEWS_COMMIT_DELAY": "0.2"}
    with open_program(url, plugins=[plugin], settings=settings) as program:
        workload.record_company(program, staff=2)
        with program.acting_as(workload.CIO):
            program.register_department("LATE", name="Late")
        head = harness.head(program)
        with open_program(url, plugins=[plugin], inline=False) as other:
            # Another process reading the file sees the command within the delay.
            harness.wait_until(
                lambda: {s.position for s in other.consumer_status() if s.kind == "view"} == {head},
                timeout=5.0,
                what="the views committed by the timer",
            )
        assert _ledger_total(program) == head


def test_folded_rows_lost_with_their_process_are_folded_again(tmp_path: Path) -> None:
    url = _url(tmp_path)
    script = (
        "import os, consumer_plugins as plugins, workload\n"
        "from rotation_domain import open_program\n"
        f"program = open_program({url!r}, plugins=[plugins.TestConsumers([plugins.LedgerView()])],"
        " settings={'ROTATION_VIEWS_COMMIT_DELAY': '60'})\n"
        "codes = workload.record_company(program, staff=4)\n"
        "workload.record_rotations(program, codes)\n"
        "os._exit(0)  # dies without closing: the folded rows are never committed\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(harness.SCRIPTS), *sys.path])}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    with open_program(url, plugins=[plugin], inline=False) as dead:
        head = harness.head(dead)
        assert head > 50
        assert {s.position for s in dead.consumer_status() if s.kind == "view"} != {head}
    with open_program(url, plugins=[plugin]) as program:
        assert _ledger_total(program) == head, "every event once in the ledger"
        _assert_equal_to_a_rebuild(program)


@pytest.mark.parametrize("given", ["soon", "-1", "61", "nan"])
def test_a_commit_delay_that_is_not_a_number_of_seconds_is_refused(
    tmp_path: Path, given: str
) -> None:
    with pytest.raises(InvalidInput, match="ROTATION_VIEWS_COMMIT_DELAY must be a number"):
        open_program(_url(tmp_path), settings={"ROTATION_VIEWS_COMMIT_DELAY": given})


def test_the_commit_delay_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_VIEWS_COMMIT_DELAY", "0")
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    with open_program(_url(tmp_path), plugins=[plugin]) as program:
        assert program.consumers.inline.commit_delay == 0
        with program.acting_as(workload.CIO):
            program.register_department("NOW", name="Now")
        assert _store_positions(program) == {harness.head(program)}


def test_a_read_after_another_runner_moved_the_views_catches_up_first(tmp_path: Path) -> None:
    url = _url(tmp_path)
    plugin = plugins.TestConsumers([plugins.LedgerView()])
    settings = {"ROTATION_VIEWS_COMMIT_DELAY": "30"}
    with open_program(url, plugins=[plugin], settings=settings) as program:
        workload.record_company(program, staff=2)
        program.consumers.commit_views()
        with program.acting_as(workload.CIO):
            program.register_department("FIRST", name="Folded, not committed")
            program.register_department("SECOND", name="Folded, not committed")
        head = harness.head(program)

        class Stop(Exception):
            pass

        def stop_after_the_first_page(done: int, total: int) -> None:
            raise Stop

        with open_program(url, plugins=[plugin], inline=False) as mover:
            # Another runner moves every view one event on (to FIRST's), then stops.
            runners = list(mover.consumers.views.values())
            store = mover.consumers.store
            with pytest.raises(Stop):
                catch_up_views(mover.app, store, runners, stop_after_the_first_page, page_size=1)
        assert _store_positions(program) == {head - 1}
        departments = {row.department for row in program.views.department_bridges()}
        assert {"FIRST", "SECOND"} <= departments, "the read caught up past the moved views"
        assert _store_positions(program) == {head}
        assert _ledger_total(program) == head
        _assert_equal_to_a_rebuild(program)


def test_rows_of_an_aggregate_a_command_creates_are_not_read_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new rotation, mentorship or improvement has a random id no committed row names.

    So, while a command's events are folded, the views' reads of rows keyed by an id
    the command created are answered "absent" without a query, on a program whose
    views already hold rows (their caches do not know every row), and the views still
    equal a rebuild.
    """
    from adapters import consumer_store_sqlite

    url = _url(tmp_path)
    with open_program(url) as program:
        codes = workload.record_company(program, staff=12)
        workload.record_rotations(program, codes[:6])
    asked: list[str] = []
    folds: list[tuple[set[str], list[str]]] = []
    get, fold = consumer_store_sqlite._SQLiteRows.get, InlineViews._fold

    def spied_get(rows: Any, key: str) -> Any:
        asked.append(key)
        return get(rows, key)

    def spied_fold(inline: InlineViews, at: int, recordings: Any) -> None:
        asked.clear()
        fold(inline, at, recordings)
        created = {
            str(r.domain_event.originator_id)
            for r in recordings
            if r.domain_event.originator_version == 1
        }
        folds.append((created, list(asked)))

    monkeypatch.setattr(consumer_store_sqlite._SQLiteRows, "get", spied_get)
    monkeypatch.setattr(InlineViews, "_fold", spied_fold)
    with open_program(url) as program:
        workload.record_rotations(program, codes[6:], round_=1)
        creating = [(created, keys) for created, keys in folds if created]
        assert len(creating) >= 6 * 2, "rotations, mentorships and improvements were created"
        assert any(keys for _, keys in folds), "rows the cache did not hold were still read"
        assert [k for created, keys in creating for k in keys if any(i in k for i in created)] == []
        _assert_equal_to_a_rebuild(program)
