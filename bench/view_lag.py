"""View lag in worker mode: from a command's return to the views showing its event.

``.venv/bin/python bench/view_lag.py [--quick] [--stores sqlite,postgres] [--json FILE]``

For each store: a program log with rotations in progress is generated (untimed, by
`bench.views.build_log`), then a worker runs in a subprocess of its own
(``adapters.worker.Worker(program, poll_interval=0.005).run()`` on a program opened
with ``inline=False``; SQLite: file lock and polling, PostgreSQL: advisory locks and
LISTEN/NOTIFY). Once it has caught up, this process runs commands with
``inline=False`` (``record_observation`` and ``hold_mentor_session`` in turn, on the
running rotations); after each it reads the event's notification id
(``max_notification_id()``) and polls the consumer store's positions every 1 ms
until ``department_bridges`` and ``mentor_engagement`` have reached it. The lag is
the time from the command's return to the poll that saw both. A random pause of
0-10 ms before each command keeps the commands out of step with the worker's polls.

Targets: p99 below 100 ms on SQLite, below 50 ms on PostgreSQL. The worker is stopped
(SIGTERM, then SIGKILL if it lingers) whatever happens; each PostgreSQL store is a
fresh schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

# Run as a script, only the bench directory is on sys.path; `bench.*` needs the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import machine_info, source_revision
from bench.stores import (
    FreshStore,
    PostgresStores,
    SQLiteStores,
    StoreKind,
    postgres_server_version,
)
from bench.views import LogStats, RunningRotation, build_log
from rotation_domain import RotationProgram, open_program

__all__ = ["LagSample", "main", "measure_store"]

PLUGINS = "default_views"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_P99_MS = {"sqlite": 100.0, "postgres": 50.0}
WATCHED = ("department_bridges", "mentor_engagement")
POLL_SECONDS = 0.001
WORKER_POLL_INTERVAL = 0.005
ACTOR = "bench-lag@example.com"
COMMAND_TIMEOUT = 30.0
"""Seconds a command's event may take to reach the views before the run fails."""
SESSION_KINDS = ("discussion", "reading", "hands-on")


@dataclass(frozen=True)
class Parameters:
    """How much one store's measurement does."""

    mode: str
    commands: int
    running: int
    seed_events: int


QUICK = Parameters("quick", commands=60, running=30, seed_events=10_000)
FULL = Parameters("full", commands=300, running=60, seed_events=50_000)

_WORKER_SCRIPT = """
import os, signal, sys, threading
from adapters.worker import Worker
from rotation_domain import open_program

program = open_program(sys.argv[1], inline=False)
worker = Worker(program, poll_interval=float(sys.argv[2]))
signal.signal(signal.SIGTERM, lambda *_: worker.stop())
signal.signal(signal.SIGINT, lambda *_: worker.stop())
parent = os.getppid()

def orphaned():  # the bench died without stopping us: stop too, leave no stray worker
    while not worker.stopping.wait(0.5):
        if os.getppid() != parent:
            worker.stop()

threading.Thread(target=orphaned, daemon=True).start()
try:
    worker.run()
finally:
    program.close()
"""


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def worker_process(url: str, poll_interval: float) -> Iterator[subprocess.Popen[bytes]]:
    """A worker in a subprocess for the block; stopped (then killed if need be) at its end."""
    env = {**os.environ, "ROTATION_PLUGINS": os.environ.get("ROTATION_PLUGINS", PLUGINS)}
    process = subprocess.Popen(
        [sys.executable, "-c", _WORKER_SCRIPT, url, str(poll_interval)],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _positions_reached(program: RotationProgram, head: int) -> bool:
    positions = program.consumers.store.positions()
    return all(positions.get(name, 0) >= head for name in WATCHED)


def _wait_caught_up(
    program: RotationProgram, process: subprocess.Popen[bytes], timeout: float
) -> float:
    """Wait until every view the worker runs has reached the head; return the seconds."""
    head = program.app.recorder.max_notification_id() or 0
    started = time.perf_counter()
    while True:
        positions = program.consumers.store.positions()
        if all(positions.get(name, 0) >= head for name in program.consumers.views):
            return time.perf_counter() - started
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with status {process.returncode}")
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the worker did not catch up within {timeout:.0f} s: {positions}")
        time.sleep(0.05)


@dataclass
class LagSample:
    """One store's lags and the commands' own latencies, in seconds."""

    store: str
    lags: list[float]
    command_seconds: list[float]
    kinds: list[str]
    catch_up_seconds: float
    seed_events: int


def _command(
    program: RotationProgram, rotation: RunningRotation, n: int, rng: random.Random
) -> str:
    day = rotation.start + timedelta(days=n % ((rotation.end - rotation.start).days + 1))
    if n % 2 == 0:
        program.record_observation(
            rotation.rotation_id, f"Lag probe {n}: a manual step", on=day, actor=ACTOR
        )
        return "record_observation"
    program.hold_mentor_session(
        rotation.mentorship_id,
        kind=SESSION_KINDS[rng.randrange(len(SESSION_KINDS))],
        on=day,
        topic=f"Lag probe {n}",
        actor=ACTOR,
    )
    return "hold_mentor_session"


def measure_store(kind: StoreKind, params: Parameters, seed: int = 7) -> LagSample:
    """Seed a fresh store, start a worker, and time every command's way to the views."""
    with kind.fresh("lag") as store:
        return _measure(kind.name, store, params, seed)


def _measure(name: str, store: FreshStore, params: Parameters, seed: int) -> LagSample:
    stats: LogStats = build_log(
        store.url, params.seed_events, running=params.running, progress=_progress
    )
    _progress(f"{name}: seeded {stats.events:,} events ({stats.seconds:.0f} s, untimed)")
    rng = random.Random(seed)
    lags: list[float] = []
    latencies: list[float] = []
    kinds: list[str] = []
    program = open_program(store.url, inline=False)
    try:
        with worker_process(store.url, WORKER_POLL_INTERVAL) as process:
            catch_up = _wait_caught_up(program, process, timeout=600)
            _progress(f"{name}: the worker caught up with the seeded log in {catch_up:.1f} s")
            for n in range(params.commands):
                time.sleep(rng.uniform(0.0, 0.010))
                rotation = stats.running[n % len(stats.running)]
                started = time.perf_counter()
                kinds.append(_command(program, rotation, n // len(stats.running), rng))
                returned = time.perf_counter()
                head = program.app.recorder.max_notification_id() or 0
                while not _positions_reached(program, head):
                    if time.perf_counter() - returned > COMMAND_TIMEOUT:
                        raise RuntimeError(f"{name}: event {head} never reached the views")
                    if process.poll() is not None:
                        raise RuntimeError(f"the worker exited with status {process.returncode}")
                    time.sleep(POLL_SECONDS)
                lags.append(time.perf_counter() - returned)
                latencies.append(returned - started)
    finally:
        program.close()
    return LagSample(name, lags, latencies, kinds, catch_up, stats.events)


def _percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(sample: LagSample) -> dict[str, Any]:
    """Milliseconds: percentiles of the lags (and of the commands), and the target."""
    ms = [lag * 1000 for lag in sample.lags]
    command_ms = [s * 1000 for s in sample.command_seconds]
    target = TARGET_P99_MS[sample.store]
    p99 = _percentile(ms, 99)
    by_kind = {
        kind: statistics.median([m for m, k in zip(ms, sample.kinds, strict=True) if k == kind])
        for kind in sorted(set(sample.kinds))
    }
    return {
        "store": sample.store,
        "commands": len(ms),
        "seed_events": sample.seed_events,
        "worker_catch_up_seconds": sample.catch_up_seconds,
        "lag_ms": {
            "p50": _percentile(ms, 50),
            "p95": _percentile(ms, 95),
            "p99": p99,
            "max": max(ms),
            "mean": statistics.fmean(ms),
            "min": min(ms),
            "median_by_command": by_kind,
        },
        "command_ms": {
            "p50": _percentile(command_ms, 50),
            "p99": _percentile(command_ms, 99),
            "max": max(command_ms),
        },
        "target_p99_ms": target,
        "met": p99 < target,
        "samples_ms": ms,
    }


def markdown(document: dict[str, Any]) -> str:
    """The run as a Markdown table."""
    m = document["machine"]
    lines = [
        f"## View lag in worker mode ({document['mode']} mode)",
        "",
        "| store | commands | p50 ms | p95 ms | p99 ms | max ms | target p99 | "
        "command p50 ms | worker catch-up of the seed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in document["stores"]:
        lag = row["lag_ms"]
        verdict = "met" if row["met"] else "**missed**"
        lines.append(
            f"| {row['store']} | {row['commands']} | {lag['p50']:.1f} | {lag['p95']:.1f} | "
            f"{lag['p99']:.1f} | {lag['max']:.1f} | < {row['target_p99_ms']:.0f} ms: {verdict} | "
            f"{row['command_ms']['p50']:.1f} | {row['seed_events']:,} events in "
            f"{row['worker_catch_up_seconds']:.1f} s |"
        )
    for store, reason in document.get("skipped", {}).items():
        lines.append(f"| {store} | skipped: {reason} | | | | | | | |")
    lines += [
        "",
        f"Worker poll interval {WORKER_POLL_INTERVAL * 1000:.0f} ms (SQLite); the bench polls "
        f"the positions of {' and '.join(WATCHED)} every {POLL_SECONDS * 1000:.0f} ms.",
        "",
        "Machine: "
        + ", ".join(
            f"{k} {m[k]}"
            for k in ("cpu_model", "cores", "python", "eventsourcing", "sqlite", "postgresql")
        )
        + f"; load average before {m.get('load_average_before')}, "
        f"after {m.get('load_average_after')}.",
        "",
        _source_line(document),
        "",
    ]
    return "\n".join(lines)


def _source_line(document: dict[str, Any]) -> str:
    start, end = document.get("source", {}), document.get("source_at_end", {})
    changes = ", ".join(start.get("src_changes", [])) or "none"
    line = f"Source: commit {start.get('commit')} (uncommitted changes in src/: {changes})"
    if end and end != start:
        line += f"; at the end of the run: commit {end.get('commit')}"
    return line + "."


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not available
        return "unknown"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="60 commands per store")
    parser.add_argument("--commands", type=int, help="commands per store (full: 300)")
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ROTATION_BENCH_POSTGRES")
        or os.environ.get("ROTATION_TEST_POSTGRES")
        or DEFAULT_POSTGRES,
        help="server and database; each store is a fresh schema, dropped at the end",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure each store, print the table and the machine, optionally write JSON/Markdown."""
    args = _arguments(argv)
    params = QUICK if args.quick else FULL
    if args.commands:
        params = Parameters(params.mode, args.commands, params.running, params.seed_events)
    plugins = os.environ.setdefault("ROTATION_PLUGINS", PLUGINS)  # read by open_program()
    # Taken before measuring: the code measured is imported by then or in the first seconds.
    source_at_start = source_revision()
    load_before = _load_average()
    started = time.perf_counter()
    names = [name.strip() for name in args.stores.split(",") if name.strip()]
    skipped: dict[str, str] = {}
    postgres_version: str | None = None
    rows = []
    for name in names:
        kind: StoreKind
        if name == "sqlite":
            kind = SQLiteStores()
        elif name == "postgres":
            postgres_version, reason = postgres_server_version(args.postgres_url)
            if reason is not None:
                skipped[name] = reason
                _progress(f"PostgreSQL skipped: {reason}")
                continue
            kind = PostgresStores(args.postgres_url)
        else:
            raise SystemExit(f"unknown store {name!r}: use sqlite and/or postgres")
        try:
            sample = measure_store(kind, params)
        finally:
            kind.close()
        rows.append(summarise(sample))
        lag = rows[-1]["lag_ms"]
        _progress(f"{name}: lag p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms")
    machine = machine_info(postgres_version)
    machine["load_average_before"] = load_before
    machine["load_average_after"] = _load_average()
    document: dict[str, Any] = {
        "benchmark": "view-lag",
        "mode": params.mode,
        "machine": machine,
        "source": source_at_start,
        "source_at_end": source_revision(),
        "parameters": {
            "commands": params.commands,
            "running_rotations": params.running,
            "seed_events": params.seed_events,
            "worker_poll_interval": WORKER_POLL_INTERVAL,
            "bench_poll_seconds": POLL_SECONDS,
            "watched": list(WATCHED),
            "ROTATION_PLUGINS": plugins,
        },
        "stores": rows,
        "skipped": skipped,
        "seconds": time.perf_counter() - started,
    }
    print(markdown(document))
    print(f"{document['seconds']:.0f} s in all")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
        print(f"results written to {args.json}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(document))
        print(f"table written to {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
