"""Runners killed with SIGKILL in the middle of their work, then restarted.

A child process (``scripts/catch_up_slowly.py``) catches every consumer of a store up,
its views slowed down a little per event, either in one pass over the log for every
view (``program.catch_up()``, as after a command) or with each runner in a thread of
its own (as workers run them), and is killed once it has committed some pages but not
all. The test then restarts the catch-up in its own process and checks what the
architecture promises:

* views are exactly once: the resumed rows of every view equal the rows the same view
  gets when it is rebuilt from zero (including `LedgerView`'s count per event name,
  which would show an event applied twice);
* integrations are at least once: every event is delivered, with the same idempotency
  key on every attempt, and only the event in flight when the process died can be
  delivered twice, so a receiver that deduplicates by key sees each event once;
* a view that raises on every event has its events parked while the commands and the
  other views carry on.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import consumer_plugins as plugins
import harness
import pytest
import workload

from rotation_domain import RotationProgram, open_program
from rotation_domain.runners import PAGE_SIZE

KILL_TIMEOUT = 60.0
# Enough events that the standard views need more than a page each (a page is 500).
SQLITE_STAFF = 150  # about 2,750 events, recorded once for the module
POSTGRES_STAFF = 120  # about 2,200 events, recorded for the test
SLOW_DELAY = 0.05  # seconds per event after a runner's first page (after the kill: free)
IN_PLACE_PAGE = 750  # events a page of the in-place rebuild in the child, not PAGE_SIZE
SMALL_STAFF = 12  # about 300 events, for integrations (one transaction per event)


# Fixtures and helpers.


@pytest.fixture(autouse=True)
def only_known_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the standard views and the test consumers only, whatever else is installed."""
    monkeypatch.setenv("ROTATION_PLUGINS", "default_views,test_consumers")


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start child processes; every one still running at the end is killed."""
    started: list[Any] = []

    def start(args: list[str], *, name: str, env: dict[str, str] | None = None) -> Any:
        child = harness.Child(args, logs=tmp_path / "logs" / name, env=env)
        started.append(child)
        return child

    yield start
    for child in started:
        child.close()


def record(url: str, staff: int) -> int:
    """Record a company and one rotation per employee with ``inline=False``; the head."""
    with open_program(url, inline=False) as program:
        codes = workload.record_company(program, staff=staff)
        workload.record_rotations(program, codes)
        return int(harness.head(program))


@pytest.fixture(scope="module")
def recorded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A SQLite store of a few thousand events (recorded once), and its head."""
    path = tmp_path_factory.mktemp("recorded") / "rotation.db"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ROTATION_PLUGINS", "default_views")
        return path, record(f"sqlite:///{path}", SQLITE_STAFF)


def ledger_plugin() -> Any:
    return plugins.TestConsumers([plugins.LedgerView()])


def kill_in_the_middle_of_a_catch_up(
    url: str, head: int, children: Callable[..., Any], *, per_runner: bool = False
) -> dict[str, int]:
    """Run the slow catch-up in a child, SIGKILL it midway; the positions it left.

    Each view applies its first page of events at full speed and then sleeps
    ``SLOW_DELAY`` per event. The child is killed as soon as every view has committed
    something. In one pass, every view then stands at the end of the first page; run
    per runner, the views that need more than a page (the ledger, which needs every
    event, among them) are midway through their second.
    """
    child = children(
        harness.python_script(
            "catch_up_slowly.py",
            url,
            *(["--per-runner"] if per_runner else []),
            "--slow-default-views",
            "--ledger",
            "--fast-first",
            str(PAGE_SIZE),
            "--view-delay",
            str(SLOW_DELAY),
        ),
        name="catch-up",
        env={"ROTATION_DISABLE_PLUGINS": "default_views"},
    )
    at_kill = kill_once_every_view_committed(url, child, [ledger_plugin()])
    assert 0 < at_kill[plugins.LEDGER] < head, at_kill
    return at_kill


def kill_once_every_view_committed(
    url: str, child: Any, plugins_: list[Any], views: set[str] | None = None
) -> dict[str, int]:
    """SIGKILL ``child`` once each of ``views`` (every consumer) has committed; their positions."""
    with open_program(url, inline=False, plugins=plugins_) as observer:

        def watched() -> dict[str, int]:
            found = harness.positions(observer)
            return found if views is None else {name: found[name] for name in views}

        def every_view_committed() -> bool:
            return all(watched().values()) or not child.running()

        harness.wait_until(
            every_view_committed,
            timeout=KILL_TIMEOUT,
            what="every view of the slow catch-up to commit",
            interval=0.01,
            explain=child.output,
        )
        assert child.running(), f"the catch-up ended before it was killed\n{child.output()}"
        child.kill()
        return dict(watched())


def resume_then_rebuild(url: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Catch up in this process; the views' rows, their rows after a rebuild, the status."""
    with open_program(url, inline=False, plugins=[ledger_plugin()]) as program:
        program.catch_up()
        resumed = harness.view_rows(program)
        status = program.consumer_status()
        program.rebuild()
        rebuilt = harness.view_rows(program)
    return resumed, rebuilt, status


def check_resumed_views_equal_rebuilt_ones(
    url: str, head: int, at_kill: dict[str, int]
) -> dict[str, int]:
    resumed, rebuilt, status = resume_then_rebuild(url)
    assert not harness.differences(resumed, rebuilt), "\n".join(
        harness.differences(resumed, rebuilt)
    )
    final = {s.name: s.position for s in status}
    assert final[plugins.LEDGER] == head
    assert all(s.parked == 0 and s.retrying == 0 for s in status), status
    ledger = dict(resumed[plugins.LEDGER])
    assert ledger["total"] == {"n": head}
    assert sum(1 for key in ledger if key.startswith("event/")) == head
    assert set(resumed) == {plugins.LEDGER, *workload_views()}
    assert all(resumed[name] for name in resumed), "every view has rows"
    # Each view resumed from where the killed runner had committed, never past its end.
    assert all(at_kill[name] <= final[name] for name in final), (at_kill, final)
    return final


def check_standard_views_were_interrupted_too(
    at_kill: dict[str, int], final: dict[str, int]
) -> None:
    """Some standard view (one that needs more than a page) was killed midway too."""
    interrupted = {name for name in final if 0 < at_kill[name] < final[name]}
    assert plugins.LEDGER in interrupted, (at_kill, final)
    assert interrupted - {plugins.LEDGER}, f"no standard view was midway: {at_kill}, {final}"


def workload_views() -> set[str]:
    with open_program("memory:", inline=False) as program:
        return set(program.consumers.views)


# Views: exactly once across SIGKILL.


@pytest.mark.parametrize("per_runner", [False, True], ids=["one pass", "per runner"])
def test_views_killed_mid_catch_up_on_sqlite_resume_to_the_rows_of_a_rebuild(
    recorded_sqlite: tuple[Path, int],
    tmp_path: Path,
    children: Callable[..., Any],
    per_runner: bool,
) -> None:
    template, head = recorded_sqlite
    path = tmp_path / "rotation.db"
    harness.copy_sqlite(template, path)
    url = f"sqlite:///{path}"

    at_kill = kill_in_the_middle_of_a_catch_up(url, head, children, per_runner=per_runner)
    # SQLite's notification ids have no gaps: the ledger committed whole pages only.
    assert at_kill[plugins.LEDGER] % PAGE_SIZE == 0, at_kill
    if not per_runner:  # one transaction per page for every view
        assert set(at_kill.values()) == {at_kill[plugins.LEDGER]}, at_kill
    final = check_resumed_views_equal_rebuilt_ones(url, head, at_kill)
    check_standard_views_were_interrupted_too(at_kill, final)


@pytest.mark.postgres
def test_views_killed_mid_catch_up_on_postgres_resume_to_the_rows_of_a_rebuild(
    postgres_schema_url: str, children: Callable[..., Any]
) -> None:
    url = postgres_schema_url
    head = record(url, POSTGRES_STAFF)
    assert head > PAGE_SIZE

    at_kill = kill_in_the_middle_of_a_catch_up(url, head, children)
    final = check_resumed_views_equal_rebuilt_ones(url, head, at_kill)
    check_standard_views_were_interrupted_too(at_kill, final)


def test_views_killed_mid_rebuild_in_place_resume_to_the_rows_of_a_rebuild(
    recorded_sqlite: tuple[Path, int], tmp_path: Path, children: Callable[..., Any]
) -> None:
    """Views rebuilt in place (`rotation_domain.rebuild`) killed after a page: exactly once."""
    template, head = recorded_sqlite
    path = tmp_path / "rotation.db"
    harness.copy_sqlite(template, path)
    url = f"sqlite:///{path}"
    standard = workload_views()
    # The pass's first page: IN_PLACE_PAGE events of the views' topics. Each view gets
    # only its own share of them, so a count of events applied would leave some views
    # fast into the second page; the slow-down starts at the page's last position.
    with open_program(url, inline=False) as program:
        topics = sorted(set().union(*(r.view.topics for r in program.consumers.views.values())))
        page = program.app.recorder.select_notifications(
            start=1, limit=IN_PLACE_PAGE, topics=topics
        )
    child = children(
        harness.python_script(
            "catch_up_slowly.py",
            url,
            "--slow-default-views",
            "--in-place-page",
            str(IN_PLACE_PAGE),
            "--fast-until",
            str(page[-1].id),
            "--view-delay",
            str(SLOW_DELAY),
        ),
        name="rebuild-in-place",
        env={"ROTATION_DISABLE_PLUGINS": "default_views"},
    )
    at_kill = kill_once_every_view_committed(url, child, [], standard)
    # One pass, one transaction a page of the in-place size for all of them (the general
    # way would have committed pages of PAGE_SIZE): they stand together, midway.
    assert at_kill == dict.fromkeys(standard, page[-1].id) != dict.fromkeys(standard, head)

    with open_program(url, inline=False) as program:
        program.catch_up()  # resumed the general way, from where the pass committed
        resumed = harness.view_rows(program)
        assert {s.name: s.position for s in program.consumer_status()} == dict.fromkeys(
            standard, head
        )
        program.rebuild()
        rebuilt = harness.view_rows(program)
    assert not harness.differences(resumed, rebuilt), "\n".join(
        harness.differences(resumed, rebuilt)
    )
    assert all(resumed[name] for name in standard), "every view has rows"


def test_a_view_resumed_after_a_kill_equals_a_view_caught_up_without_one(
    recorded_sqlite: tuple[Path, int], tmp_path: Path, children: Callable[..., Any]
) -> None:
    """The rebuild comparison is not fooled by the rebuild itself: compare two stores."""
    template, head = recorded_sqlite
    killed, calm = tmp_path / "killed.db", tmp_path / "calm.db"
    harness.copy_sqlite(template, killed)
    harness.copy_sqlite(template, calm)

    at_kill = kill_in_the_middle_of_a_catch_up(f"sqlite:///{killed}", head, children)
    rows = {}
    for path in (killed, calm):
        with open_program(f"sqlite:///{path}", inline=False, plugins=[ledger_plugin()]) as program:
            program.catch_up()
            rows[path] = harness.view_rows(program)
    assert 0 < at_kill[plugins.LEDGER] < head
    assert not harness.differences(rows[killed], rows[calm]), "\n".join(
        harness.differences(rows[killed], rows[calm])
    )


# Integrations: at least once across SIGKILL, never twice but for the event in flight.


def deliveries_by_position(directory: Path) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for delivery in plugins.read_deliveries(directory):
        found.setdefault(delivery["position"], []).append(delivery)
    return found


def deduplicated_by_key(directory: Path) -> Counter[str]:
    """What a receiver that drops repeated idempotency keys accepts, counted per key."""
    seen: set[str] = set()
    accepted: Counter[str] = Counter()
    for delivery in plugins.read_deliveries(directory):
        if delivery["key"] not in seen:
            seen.add(delivery["key"])
            accepted[delivery["key"]] += 1
    return accepted


def resume_integration(url: str, directory: Path) -> list[Any]:
    recorder = plugins.RecordingIntegration(directory)
    with open_program(
        url, inline=False, plugins=[plugins.TestConsumers((), [recorder])]
    ) as program:
        program.catch_up()
        return program.consumer_status()


def check_every_event_delivered_once_but_the_one_in_flight(
    directory: Path, head: int, in_flight: int, killed_pid: int
) -> None:
    by_position = deliveries_by_position(directory)
    assert sorted(by_position) == list(range(1, head + 1)), "every event was delivered"
    for position, deliveries in by_position.items():
        assert {d["key"] for d in deliveries} == {f"{plugins.RECORDER}:{position}"}
    repeated = {p: ds for p, ds in by_position.items() if len(ds) > 1}
    assert set(repeated) <= {in_flight}, f"only the event in flight may repeat: {repeated}"
    for deliveries in repeated.values():
        # Once by the killed process, once more by the process that took over.
        assert sorted(d["pid"] for d in deliveries) == sorted([killed_pid, os.getpid()])
    accepted = deduplicated_by_key(directory)
    assert accepted == Counter(f"{plugins.RECORDER}:{p}" for p in range(1, head + 1))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def small_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, int]:
    """A store of a few hundred events on SQLite or PostgreSQL, and its head."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rotation.db'}"
    else:
        url = str(request.getfixturevalue("postgres_schema_url"))
    return url, record(url, SMALL_STAFF)


def test_an_integration_killed_after_its_side_effect_delivers_that_event_again_only(
    small_store: tuple[str, int], tmp_path: Path, children: Callable[..., Any]
) -> None:
    url, head = small_store
    directory = tmp_path / "deliveries"
    directory.mkdir()
    in_flight = head // 2
    child = children(
        harness.python_script(
            "catch_up_slowly.py", url, "--recorder", str(directory), "--pause-at", str(in_flight)
        ),
        name="deliver",
    )
    harness.wait_until(
        lambda: (directory / plugins.PAUSED).exists() or not child.running(),
        timeout=KILL_TIMEOUT,
        what=f"the integration to perform event {in_flight}'s side effect",
        explain=child.output,
    )
    assert child.running(), child.output()
    child.kill()
    with open_program(url, inline=False) as program:
        assert program.consumers.store.position(plugins.RECORDER) == in_flight - 1

    status = resume_integration(url, directory)

    recorder = next(s for s in status if s.name == plugins.RECORDER)
    assert (recorder.position, recorder.lag, recorder.retrying, recorder.parked) == (head, 0, 0, 0)
    check_every_event_delivered_once_but_the_one_in_flight(directory, head, in_flight, child.pid)
    assert len(deliveries_by_position(directory)[in_flight]) == 2, "at least once: redelivered"


def test_an_integration_killed_at_any_moment_repeats_at_most_the_event_in_flight(
    small_store: tuple[str, int], tmp_path: Path, children: Callable[..., Any]
) -> None:
    url, head = small_store
    directory = tmp_path / "deliveries"
    directory.mkdir()
    child = children(
        harness.python_script(
            "catch_up_slowly.py", url, "--recorder", str(directory), "--recorder-delay", "0.003"
        ),
        name="deliver",
    )
    with open_program(url, inline=False) as observer:
        store = observer.consumers.store
        harness.wait_until(
            lambda: store.position(plugins.RECORDER) >= head // 3 or not child.running(),
            timeout=KILL_TIMEOUT,
            what="the integration to deliver a third of the events",
            interval=0.005,
            explain=child.output,
        )
        assert child.running(), child.output()
        child.kill()
        at_kill = store.position(plugins.RECORDER)
    assert head // 3 <= at_kill < head

    resume_integration(url, directory)

    check_every_event_delivered_once_but_the_one_in_flight(directory, head, at_kill + 1, child.pid)
    killed = [d["position"] for d in plugins.read_deliveries(directory) if d["pid"] == child.pid]
    assert killed == list(range(1, len(killed) + 1)), "in order, each once, before the kill"
    assert len(killed) in (at_kill, at_kill + 1)


# A view that always raises is parked; the rest carries on.


def test_a_view_that_raises_on_every_event_is_parked_while_commands_and_other_views_go_on(
    store_url: str, seed: Callable[[RotationProgram], None]
) -> None:
    plugin = plugins.TestConsumers([plugins.FailingView(), plugins.LedgerView()])
    with open_program(store_url, inline=True, plugins=[plugin]) as program:
        seed(program)  # every command succeeds although a view fails on every event
        with program.acting_as(workload.CIO):
            rotation = program.plan_rotation(
                "E1", host_department="FIN", start="2027-02-01", end="2027-02-20"
            )
            program.nominate_mentor(rotation, mentor="M1")
        head = harness.head(program)
        status = {s.name: s for s in program.consumer_status()}
        failures = program.consumers.store.failures(plugins.FAILING)
        rows = harness.view_rows(program)
        others = [name for name in program.consumers.views if name != plugins.FAILING]
        program.rebuild()
        rebuilt = harness.view_rows(program)

    failing = status[plugins.FAILING]
    assert (failing.parked, failing.retrying, failing.position) == (head, 0, head)
    assert [f.position for f in failures] == list(range(1, head + 1))
    assert {f.status for f in failures} == {"parked"}
    assert failures[0].last_error == "RuntimeError: this view cannot fold event 1"
    assert rows[plugins.FAILING] == []
    for name in others:
        assert (status[name].parked, status[name].retrying) == (0, 0), status[name]
        assert rows[name] == rebuilt[name], f"view {name} is current"
    assert status[plugins.LEDGER].lag == 0
    assert dict(rows[plugins.LEDGER])["total"] == {"n": head}


class RunawayRetries(BaseException):
    """Raised through the runner (it catches Exception only) when it retries in a loop."""


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
            if self.attempts > 10:
                raise RunawayRetries(f"event {self.position} was tried {self.attempts} times")
            if self.attempts <= 2:
                raise RuntimeError(f"event {self.position} cannot be folded yet")
        rows.put(f"event/{envelope.position:06d}", {})


def test_a_failing_view_tries_the_event_again_at_the_next_catch_up_while_others_go_on() -> None:
    flaky = FailsTwiceAt(position=5)
    plugin = plugins.TestConsumers([flaky, plugins.LedgerView()])
    with open_program("memory:", inline=False, plugins=[plugin]) as program:
        codes = workload.record_company(program, staff=40)
        workload.record_rotations(program, codes)
        head = harness.head(program)
        assert head > 5 + PAGE_SIZE, "more than a page after the failing event"
        seen = []
        for _ in range(3):
            program.catch_up()
            status = {s.name: s for s in program.consumer_status()}
            seen.append((flaky.attempts, status[flaky.name].position, status[flaky.name].retrying))
            assert status[plugins.LEDGER].position == head, "the other views went on"
        rows = dict(program.consumers.store.reader(flaky.name).scan())

    assert seen == [(1, 4, 1), (2, 4, 1), (3, head, 0)]
    assert sorted(rows) == [f"event/{n:06d}" for n in range(1, head + 1)]
