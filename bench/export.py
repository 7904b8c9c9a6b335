"""Exporting a large log streams in constant memory: RSS and tracemalloc while exporting.

Run it as ``.venv/bin/python -m bench.export --events 1000000``. It seeds a SQLite
store with that many events through the chained recorder (real event classes, mapped
by the real mapper, inserted in large transactions: seeding is not what is measured),
then exports the whole log as JSON Lines and as CSV through ``program.export_audit``
into a sink that counts bytes (so the disk does not take part), and prints:

* the resident set size (RSS, from ``/proc/self/statm``) before the export and after
  10 %, 50 % and 100 % of the events, and the peak RSS of the process;
* tracemalloc's peak while exporting the first 10,000 and the first 100,000 events
  (tracemalloc slows Python down several times, so it is not run on the whole log).

Constant memory shows as an RSS that does not grow between 10 % and 100 %, and a
tracemalloc peak that does not grow with ten times the events.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from adapters.audit_chain import ChainedSQLiteApplicationRecorder
from adapters.mapper import CattrsMapper
from rotation_domain import RotationProgram, open_program
from rotation_domain.rotation import Rotation

__all__ = ["CountingSink", "open_for_audit", "rss_mib", "seed_log", "stored_batches"]

BATCH = 10_000


def rss_mib() -> float:
    """The process's resident set size now, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """The process's peak resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CountingSink:
    """A text stream that keeps nothing: it counts characters and lines written."""

    def __init__(self, total: int = 0) -> None:
        self.chars = 0
        self.lines = 0
        self.samples: dict[int, float] = {}
        self._at = sorted({max(1, total * p // 100) for p in (10, 50, 100)}) if total else []

    def write(self, text: str) -> int:
        """Count ``text``; sample the RSS at 10 %, 50 % and 100 % of the events."""
        self.chars += len(text)
        self.lines += text.count("\n")
        if self._at and self.lines >= self._at[0]:
            self.samples[self._at.pop(0)] = rss_mib()
        return len(text)


def _templates() -> list[tuple[int, Any]]:
    """One event of each kind a rotation's life records, to be copied with new ids."""
    now = datetime.now(UTC)
    common: dict[str, Any] = {"timestamp": now, "actor": "cio@example.com"}
    events: Any = Rotation  # the event classes' fields are not visible to mypy
    return [
        (
            1,
            events.RotationPlanned(
                originator_id=uuid4(),
                originator_version=1,
                originator_topic="rotation_domain:Rotation",
                participant="E1",
                host_department="FIN",
                start=date(2027, 3, 1),
                end=date(2027, 3, 26),
                **common,
            ),
        ),
        (
            2,
            events.RotationRescheduled(
                originator_id=uuid4(),
                originator_version=2,
                start=date(2027, 3, 8),
                end=date(2027, 3, 31),
                **common,
            ),
        ),
        (
            3,
            events.ObservationRecorded(
                originator_id=uuid4(),
                originator_version=3,
                text="Invoices are re-keyed by hand from e-mail into the ledger",
                on=date(2027, 3, 10),
                category="process",
                **common,
            ),
        ),
        (
            4,
            events.RotationCancelled(
                originator_id=uuid4(),
                originator_version=4,
                reason="the host department asked to move it to the next quarter",
                on=date(2027, 3, 2),
                **common,
            ),
        ),
    ]


def stored_batches(events: int) -> Iterator[list[StoredEvent]]:
    """``events`` stored rotation events, in batches of `BATCH`, four per rotation."""
    mapper = CattrsMapper(JSONTranscoder())
    states = [(v, mapper.to_stored_event(e)) for v, e in _templates()]
    batch: list[StoredEvent] = []
    made = 0
    while made < events:
        originator = uuid4()
        for version, template in states:
            if made == events:
                break
            batch.append(StoredEvent(originator, version, template.topic, template.state))
            made += 1
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_log(path: Path, events: int) -> float:
    """Write ``events`` rotation events into a SQLite store at ``path``; seconds taken."""
    started = time.perf_counter()
    datastore = SQLiteDatastore(db_name=str(path))
    try:
        recorder = ChainedSQLiteApplicationRecorder(datastore)
        recorder.create_table()
        for batch in stored_batches(events):
            recorder.insert_events(batch)
    finally:
        datastore.close()
    return time.perf_counter() - started


def open_for_audit(path: Path) -> RotationProgram:
    """The program on the seeded store, without catching views up (not measured here)."""
    return open_program(f"sqlite:///{path}", inline=False)


def _tracemalloc_peak(program: RotationProgram, upto: int) -> tuple[float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    program.export_audit(CountingSink(), upto=upto)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, seconds


def measure(path: Path, events: int) -> dict[str, Any]:
    """Export the seeded log as JSON Lines and CSV; memory and time figures."""
    results: dict[str, Any] = {"events": events}
    with open_for_audit(path) as program:
        for upto in (10_000, 100_000):
            if upto <= events:
                peak, seconds = _tracemalloc_peak(program, upto)
                results[f"tracemalloc_peak_mib_{upto}"] = round(peak, 2)
                results[f"tracemalloc_seconds_{upto}"] = round(seconds, 1)
        for kind in ("jsonl", "csv"):
            before = rss_mib()
            sink = CountingSink(total=events)
            started = time.perf_counter()
            written = program.export_audit(sink, format=kind)
            seconds = time.perf_counter() - started
            results[kind] = {
                "written": written,
                "seconds": round(seconds, 1),
                "events_per_second": round(written / seconds),
                "megabytes": round(sink.chars / 1e6, 1),
                "rss_mib_before": round(before, 1),
                "rss_mib_at": {k: round(v, 1) for k, v in sink.samples.items()},
            }
    results["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return results


def main(argv: list[str] | None = None) -> int:
    """Seed a store and measure the exports."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="reuse (or create) this SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        path = args.store or Path(tmp) / "audit.db"
        if not path.exists():
            print(f"seeding {args.events:,} events into {path} ...", flush=True)
            print(f"seeded in {seed_log(path, args.events):.1f} s", flush=True)
        print(f"RSS after seeding: {rss_mib():.1f} MiB", flush=True)
        for name, value in measure(path, args.events).items():
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
