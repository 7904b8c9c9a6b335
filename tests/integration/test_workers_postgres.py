"""Several ``rotation worker`` processes on one PostgreSQL store.

Each worker is a child process (``scripts/worker_with_plugin.py``: the CLI's worker
plus the test consumers `LedgerView` and `RecordingIntegration`, which appends each
delivery with the worker's process id to a file). While the workers run, a thread of
the test samples ``pg_locks`` every few milliseconds for the advisory lock of each
consumer (class ``0x726F74``, object ``adapters.worker.lock_key(name, schema)``).
The tests check that one worker at a time holds and runs each consumer, that a
surviving worker takes the consumers of a killed one over within seconds, and that
views and integrations lose nothing across the takeover.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import consumer_plugins as plugins
import harness
import psycopg
import pytest
import workload

from adapters.worker import lock_key
from rotation_domain import open_program

pytestmark = pytest.mark.postgres


LOCK_CLASS = 0x726F74
CLAIM_INTERVAL = 0.2
TAKEOVER_LIMIT = 10.0  # seconds from SIGKILL until the other worker holds every consumer
SETTLE_TIMEOUT = 60.0
RECORDER_DELAY = 0.01  # each delivery takes a little time, so one is often in flight

Samples = list[tuple[float, dict[str, list[int]]]]


# Fixtures and helpers.


@pytest.fixture(autouse=True)
def only_known_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the standard views and the test consumers only, whatever else is installed."""
    monkeypatch.setenv("ROTATION_PLUGINS", "default_views,test_consumers")


def libpq(url: str) -> str:
    return url.split("?", 1)[0]


def schema_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["schema"][-1]


def consumers_plugin(directory: Path) -> Any:
    """The test consumers as the workers have them (this process never delivers)."""
    return plugins.TestConsumers([plugins.LedgerView()], [plugins.RecordingIntegration(directory)])


def consumer_names(directory: Path) -> list[str]:
    with open_program("memory:", inline=False, plugins=[consumers_plugin(directory)]) as program:
        return [*program.consumers.views, *program.consumers.integrations]


class LockSampler:
    """Samples, every few milliseconds, which backends hold each consumer's advisory lock."""

    QUERY = (
        "SELECT objid::bigint, pid FROM pg_locks WHERE locktype = 'advisory'"
        " AND classid::bigint = %s AND objsubid = 2 AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    def __init__(self, url: str, names: list[str]) -> None:
        schema = schema_of(url)
        self.keys = {lock_key(name, schema): name for name in names}
        self.conninfo = libpq(url)
        self.samples: Samples = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                while not self.stopping.is_set():
                    held: dict[str, list[int]] = {name: [] for name in self.keys.values()}
                    for objid, pid in conn.execute(self.QUERY, (LOCK_CLASS,)).fetchall():
                        if objid in self.keys:
                            held[self.keys[objid]].append(pid)
                    self.samples.append((time.monotonic(), held))
                    self.stopping.wait(0.005)
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            self.error = error

    def holder(self) -> int | None:
        """The one backend holding every consumer's lock in the latest sample, if any."""
        if not self.samples:
            return None
        pids = {pid for held in self.samples[-1][1].values() for pid in held}
        complete = all(len(held) == 1 for held in self.samples[-1][1].values())
        return pids.pop() if complete and len(pids) == 1 else None

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)
        if self.error is not None:
            raise self.error


def start_worker(children: Callable[..., Any], url: str, directory: Path, name: str) -> Any:
    worker = children(
        harness.python_script(
            "worker_with_plugin.py",
            url,
            str(directory),
            "--claim-interval",
            str(CLAIM_INTERVAL),
            "--recorder-delay",
            str(RECORDER_DELAY),
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


def wait_for_holder(
    sampler: LockSampler, *, other_than: int | None, timeout: float, explain: Callable[[], str]
) -> int:
    def holder() -> int | None:
        pid = sampler.holder()
        return pid if pid is not None and pid != other_than else None

    found: int = harness.wait_until(
        holder,
        timeout=timeout,
        what="one backend to hold every consumer's lock",
        interval=0.005,
        explain=explain,
    )
    return found


def wait_settled(program: Any, *workers: Any) -> None:
    harness.wait_until(
        lambda: harness.settled(program),
        timeout=SETTLE_TIMEOUT,
        what="the workers to run every consumer to the head of the log",
        explain=lambda: "\n".join(w.output() for w in workers) + f"\n{program.consumer_status()}",
    )


def record_rotations(url: str, codes: list[str], round_: int) -> None:
    with open_program(url, inline=False) as program:
        workload.record_rotations(program, codes, round_=round_)


def check_views_equal_a_rebuild(url: str, directory: Path) -> None:
    delivered = len(plugins.read_deliveries(directory))
    with open_program(url, inline=False, plugins=[consumers_plugin(directory)]) as program:
        assert harness.failures(program) == {}
        rows = harness.view_rows(program)
        program.rebuild()
        rebuilt = harness.view_rows(program)
        head = harness.head(program)
    assert not harness.differences(rows, rebuilt), "\n".join(harness.differences(rows, rebuilt))
    assert dict(rows[plugins.LEDGER])["total"] == {"n": head}
    assert len(plugins.read_deliveries(directory)) == delivered, "a rebuild never re-delivers"


# The tests.


def test_two_workers_hold_each_consumer_alone_and_one_takes_over_within_seconds_of_a_kill(
    postgres_schema_url: str, tmp_path: Path, children: Callable[..., Any]
) -> None:
    url = postgres_schema_url
    directory = tmp_path / "deliveries"
    directory.mkdir()
    with open_program(url, inline=False) as program:
        codes = workload.record_company(program, staff=24)
    names = consumer_names(directory)

    with (
        LockSampler(url, names) as sampler,
        open_program(url, inline=False, plugins=[consumers_plugin(directory)]) as observer,
    ):
        a = start_worker(children, url, directory, "a")
        a_backend = wait_for_holder(sampler, other_than=None, timeout=30, explain=a.output)
        a_alone = time.monotonic()
        wait_settled(observer, a)
        b = start_worker(children, url, directory, "b")

        # Both run while commands arrive: only a works.
        record_rotations(url, codes[:8], round_=0)
        wait_settled(observer, a, b)
        assert {d["pid"] for d in plugins.read_deliveries(directory)} == {a.pid}
        mark = observer.consumers.store.position(plugins.RECORDER)

        # Kill a while commands arrive and it delivers them.
        with ThreadPoolExecutor(1) as pool:
            recording = pool.submit(record_rotations, url, codes[8:], 0)
            harness.wait_until(
                lambda: observer.consumers.store.position(plugins.RECORDER) >= mark + 20,
                timeout=SETTLE_TIMEOUT,
                what="worker a to deliver some of the new events",
                interval=0.005,
                explain=a.output,
            )
            killed = time.monotonic()
            a.kill()
            at_kill = observer.consumers.store.position(plugins.RECORDER)
            b_backend = wait_for_holder(
                sampler, other_than=a_backend, timeout=TAKEOVER_LIMIT, explain=b.output
            )
            takeover = time.monotonic() - killed
            b_alone = time.monotonic()
            recording.result()

        record_rotations(url, codes[:6], round_=1)
        wait_settled(observer, b)
        b_stopping = time.monotonic()
        assert b.stop() == 0, b.output()

    assert takeover < TAKEOVER_LIMIT
    # The locks: never two holders; one holder, the running worker's, when one was alone.
    for at, held in sampler.samples:
        assert all(len(pids) <= 1 for pids in held.values()), (at, held)
        if a_alone <= at < killed:
            assert all(pids == [a_backend] for pids in held.values()), (at, held)
        if b_alone <= at < b_stopping:
            assert all(pids == [b_backend] for pids in held.values()), (at, held)
    # The claims: each worker claimed every consumer once.
    for worker in (a, b):
        claims = (directory / f"claims-{worker.pid}.jsonl").read_text().splitlines()
        assert Counter(json.loads(line)["consumer"] for line in claims) == Counter(names)
    # The deliveries: all, in order per worker, a's up to the event in flight, b's after.
    deliveries = plugins.read_deliveries(directory)
    by_a = [d["position"] for d in deliveries if d["pid"] == a.pid]
    by_b = [d["position"] for d in deliveries if d["pid"] == b.pid]
    assert {d["pid"] for d in deliveries} == {a.pid, b.pid}
    assert by_a == list(range(1, len(by_a) + 1))
    assert len(by_a) in (at_kill, at_kill + 1)
    assert by_b == list(range(at_kill + 1, at_kill + 1 + len(by_b)))
    with open_program(url, inline=False) as program:
        head = harness.head(program)
    assert sorted(set(by_a) | set(by_b)) == list(range(1, head + 1))
    assert set(by_a) & set(by_b) <= {at_kill + 1}, "only the event in flight went twice"
    for d in deliveries:
        assert d["key"] == f"{plugins.RECORDER}:{d['position']}"
    check_views_equal_a_rebuild(url, directory)


def test_a_worker_whose_lock_session_is_ended_stops_instead_of_running_consumers_twice(
    postgres_schema_url: str, tmp_path: Path, children: Callable[..., Any]
) -> None:
    url = postgres_schema_url
    directory = tmp_path / "deliveries"
    directory.mkdir()
    with open_program(url, inline=False) as program:
        codes = workload.record_company(program, staff=10)
    names = consumer_names(directory)

    with (
        LockSampler(url, names) as sampler,
        open_program(url, inline=False, plugins=[consumers_plugin(directory)]) as observer,
    ):
        a = start_worker(children, url, directory, "a")
        a_backend = wait_for_holder(sampler, other_than=None, timeout=30, explain=a.output)
        wait_settled(observer, a)
        b = start_worker(children, url, directory, "b")
        mark = observer.consumers.store.position(plugins.RECORDER)

        # The server ends a's lock session (an administrator, a network cut, a failover).
        with psycopg.connect(libpq(url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (a_backend,))
        harness.wait_until(
            lambda: not a.running(),
            timeout=TAKEOVER_LIMIT,
            what="worker a to stop once its locks are gone",
            explain=a.output,
        )
        wait_for_holder(sampler, other_than=a_backend, timeout=TAKEOVER_LIMIT, explain=b.output)
        record_rotations(url, codes, round_=0)
        wait_settled(observer, b)
        assert b.stop() == 0, b.output()

    assert a.process.returncode != 0
    assert "terminating connection" in a.output()
    deliveries = plugins.read_deliveries(directory)
    positions = Counter(d["position"] for d in deliveries)
    assert [p for p, n in positions.items() if n > 1] == [], "no event went twice"
    assert {d["pid"] for d in deliveries if d["position"] > mark} == {b.pid}
    check_views_equal_a_rebuild(url, directory)


@pytest.fixture
def second_schema_url(postgres_schema_url: str) -> Iterator[str]:
    """Another fresh schema in the same database as ``postgres_schema_url``."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(postgres_schema_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{libpq(postgres_schema_url)}?schema={schema}"
    finally:
        with psycopg.connect(libpq(postgres_schema_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_cli_workers_of_stores_in_two_schemas_of_one_database_do_not_block_each_other(
    postgres_schema_url: str, second_schema_url: str, children: Callable[..., Any]
) -> None:
    rotation = shutil.which("rotation", path=str(Path(sys.executable).parent))
    assert rotation is not None, "the rotation console script is installed beside python"
    urls = [postgres_schema_url, second_schema_url]
    workers = [
        children(
            [rotation, "--store", url, "worker", "--claim-interval", str(CLAIM_INTERVAL)],
            name=f"worker-{n}",
        )
        for n, url in enumerate(urls)
    ]
    for url in urls:
        with open_program(url, inline=False) as program:
            codes = workload.record_company(program, staff=2)
            workload.record_rotations(program, codes)
    for url in urls:
        with open_program(url, inline=False) as program:
            wait_settled(program, *workers)
            assert all(s.position > 0 for s in program.consumer_status())
    for worker in workers:
        assert worker.stop() == 0, worker.output()
