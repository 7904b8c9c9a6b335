"""``rotation worker`` on a SQLite file: one worker at a time, through a file lock.

The test process records commands with ``inline=False`` while worker processes
(``scripts/worker_with_plugin.py``, or the ``rotation worker`` console script) keep the
views and the integration current. A second worker waits on the lock file and takes
over when the first is killed.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import consumer_plugins as plugins
import harness
import pytest
import workload

from rotation_domain import open_program

CLAIM_INTERVAL = 0.2
TAKEOVER_LIMIT = 10.0
SETTLE_TIMEOUT = 60.0


# Fixtures and helpers.


@pytest.fixture(autouse=True)
def only_known_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the standard views and the test consumers only, whatever else is installed."""
    monkeypatch.setenv("ROTATION_PLUGINS", "default_views,test_consumers")


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite store URL and a directory for the workers' files."""
    directory = tmp_path / "deliveries"
    directory.mkdir()
    return f"sqlite:///{tmp_path / 'rotation.db'}", directory


def consumers_plugin(directory: Path) -> Any:
    """The test consumers as the workers have them (this process never delivers)."""
    return plugins.TestConsumers([plugins.LedgerView()], [plugins.RecordingIntegration(directory)])


def consumer_names(directory: Path) -> list[str]:
    with open_program("memory:", inline=False, plugins=[consumers_plugin(directory)]) as program:
        return [*program.consumers.views, *program.consumers.integrations]


def start_worker(
    children: Callable[..., Any], url: str, directory: Path, name: str, *options: str
) -> Any:
    worker = children(
        harness.python_script(
            "worker_with_plugin.py",
            url,
            str(directory),
            "--claim-interval",
            str(CLAIM_INTERVAL),
            *options,
        ),
        name=name,
    )
    harness.wait_until(
        lambda: (directory / f"ready-{worker.pid}").exists() or not worker.running(),
        timeout=SETTLE_TIMEOUT,
        what=f"worker {name} to start",
        explain=worker.output,
    )
    assert worker.running(), worker.output()
    return worker


def claims_of(directory: Path, worker: Any) -> list[str]:
    path = directory / f"claims-{worker.pid}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["consumer"] for line in path.read_text().splitlines()]


def wait_settled(program: Any, *workers: Any) -> None:
    harness.wait_until(
        lambda: harness.settled(program),
        timeout=SETTLE_TIMEOUT,
        what="the worker to run every consumer to the head of the log",
        explain=lambda: "\n".join(w.output() for w in workers) + f"\n{program.consumer_status()}",
    )


def record_rotations(url: str, codes: list[str], round_: int) -> None:
    with open_program(url, inline=False) as program:
        workload.record_rotations(program, codes, round_=round_)


def check_views_equal_a_rebuild(url: str, directory: Path) -> None:
    with open_program(url, inline=False, plugins=[consumers_plugin(directory)]) as program:
        assert harness.failures(program) == {}
        rows = harness.view_rows(program)
        program.rebuild()
        rebuilt = harness.view_rows(program)
        head = harness.head(program)
    assert not harness.differences(rows, rebuilt), "\n".join(harness.differences(rows, rebuilt))
    assert dict(rows[plugins.LEDGER])["total"] == {"n": head}


# The tests.


def test_a_sqlite_worker_keeps_views_current_and_a_waiting_one_takes_over_when_it_is_killed(
    store: tuple[str, Path], children: Callable[..., Any]
) -> None:
    url, directory = store
    with open_program(url, inline=False) as program:
        codes = workload.record_company(program, staff=16)
    names = consumer_names(directory)

    with open_program(url, inline=False, plugins=[consumers_plugin(directory)]) as observer:
        a = start_worker(children, url, directory, "a", "--recorder-delay", "0.01")
        wait_settled(observer, a)
        assert sorted(claims_of(directory, a)) == sorted(names)

        # Each command is followed by the worker, not by the process that recorded it.
        with open_program(url, inline=False) as program, program.acting_as(workload.CIO):
            for code in codes[:3]:
                program.plan_rotation(
                    code, host_department="FIN", start="2027-12-06", end="2027-12-24"
                )
                wait_settled(observer, a)

        b = start_worker(children, url, directory, "b", "--recorder-delay", "0.01")
        record_rotations(url, codes[:6], round_=0)
        wait_settled(observer, a, b)
        assert claims_of(directory, b) == [], "the second worker waits for the lock file"
        assert {d["pid"] for d in plugins.read_deliveries(directory)} == {a.pid}
        mark = observer.consumers.store.position(plugins.RECORDER)

        with ThreadPoolExecutor(1) as pool:
            recording = pool.submit(record_rotations, url, codes[6:], 0)
            harness.wait_until(
                lambda: observer.consumers.store.position(plugins.RECORDER) >= mark + 10,
                timeout=SETTLE_TIMEOUT,
                what="worker a to deliver some of the new events",
                interval=0.005,
                explain=a.output,
            )
            killed = time.monotonic()
            a.kill()
            at_kill = observer.consumers.store.position(plugins.RECORDER)
            harness.wait_until(
                lambda: sorted(claims_of(directory, b)) == sorted(names),
                timeout=TAKEOVER_LIMIT,
                what="worker b to claim every consumer",
                explain=b.output,
            )
            takeover = time.monotonic() - killed
            recording.result()

        record_rotations(url, codes[:4], round_=1)
        wait_settled(observer, b)
        assert b.stop() == 0, b.output()
        head = harness.head(observer)

    assert takeover < TAKEOVER_LIMIT
    deliveries = plugins.read_deliveries(directory)
    by_a = [d["position"] for d in deliveries if d["pid"] == a.pid]
    by_b = [d["position"] for d in deliveries if d["pid"] == b.pid]
    assert by_a == list(range(1, len(by_a) + 1))
    assert len(by_a) in (at_kill, at_kill + 1)
    assert by_b == list(range(at_kill + 1, head + 1))
    assert set(by_a) & set(by_b) <= {at_kill + 1}, "only the event in flight went twice"
    check_views_equal_a_rebuild(url, directory)


def test_a_sqlite_worker_retries_a_failed_delivery_when_due_without_waiting_for_new_events(
    store: tuple[str, Path], children: Callable[..., Any]
) -> None:
    url, directory = store
    with open_program(url, inline=False) as program:
        workload.record_company(program, staff=4)
        head = harness.head(program)

    worker = start_worker(children, url, directory, "a", "--fail-once-at", "5", "--backoff", "0.1")
    with open_program(url, inline=False, plugins=[consumers_plugin(directory)]) as observer:
        wait_settled(observer, worker)
        assert harness.failures(observer) == {}
    assert worker.stop() == 0, worker.output()

    delivered = [d["position"] for d in plugins.read_deliveries(directory)]
    assert (directory / "failed-5").read_text() == str(worker.pid), "the first attempt failed"
    assert delivered == list(range(1, head + 1)), "event 5 once, after its retry"
    assert "ConnectionError: the receiver is down for event 5" in worker.output(), "logged"


def test_the_rotation_worker_command_keeps_a_sqlite_store_current_and_stops_on_sigterm(
    store: tuple[str, Path], children: Callable[..., Any]
) -> None:
    url, _ = store
    rotation = shutil.which("rotation", path=str(Path(sys.executable).parent))
    assert rotation is not None, "the rotation console script is installed beside python"
    with open_program(url, inline=False) as program:
        codes = workload.record_company(program, staff=3)
    worker = children(
        [rotation, "--store", url, "worker", "--claim-interval", str(CLAIM_INTERVAL)],
        name="cli",
    )
    record_rotations(url, codes, round_=0)
    with open_program(url, inline=False) as observer:
        wait_settled(observer, worker)
        assert all(s.position > 0 for s in observer.consumer_status())
    assert worker.stop() == 0, worker.output()
    with open_program(url, inline=False) as program:
        rows = harness.view_rows(program)
        program.rebuild()
        assert harness.view_rows(program) == rows
