"""Verifying the audit chain of a large log, and what the chain costs each save.

Run it as ``.venv/bin/python -m bench.audit_verify --events 1000000 [--postgres URL]``.

1. Verification: seeds a store with that many events through the chained recorder
   (as ``bench.export`` does, in large transactions), then times
   ``program.verify_audit_trail()`` over all of them, and, to show where the time
   goes, a bare read of the same rows (``audit_chain_rows`` without hashing).
2. Save overhead: a bare eventsourcing application saving one event per
   transaction, with eventsourcing's recorder and with the chained one, in
   alternating rounds on fresh stores; medians of the rounds and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore

from adapters.audit_chain import ChainedPostgresApplicationRecorder
from adapters.store_urls import settings_for_url
from bench.baseline import BaselineApplication, Tick
from bench.export import open_for_audit, seed_log, stored_batches
from bench.stores import FreshStore, PostgresStores, SQLiteStores, StoreKind
from rotation_domain import open_program
from rotation_domain.audit import AuditChainStore

__all__ = ["main", "save_rates", "time_verification"]

CHAINED = {
    "sqlite": "adapters.audit_chain:ChainedSQLiteApplicationRecorder",
    "postgres": "adapters.audit_chain:ChainedPostgresApplicationRecorder",
}
PLAIN = {
    "sqlite": "adapters.sqlite_subscription:PollingSQLiteApplicationRecorder",
    "postgres": "eventsourcing.postgres:PostgresApplicationRecorder",
}


def time_verification(open_: Callable[[], Any]) -> dict[str, Any]:
    """Seconds to verify the whole chain, and to read the same rows without hashing."""
    with open_() as program:
        recorder = program.app.recorder
        if not isinstance(recorder, AuditChainStore):
            raise TypeError(f"{type(recorder).__name__} keeps no audit chain")
        started = time.perf_counter()
        rows = sum(1 for _ in recorder.audit_chain_rows())
        read = time.perf_counter() - started
        started = time.perf_counter()
        result = program.verify_audit_trail()
        verify = time.perf_counter() - started
    return {
        "ok": result.ok,
        "checked": result.checked,
        "rows_read": rows,
        "read_seconds": round(read, 2),
        "verify_seconds": round(verify, 2),
        "events_per_second": round(result.checked / verify),
    }


def _seed_postgres(url: str, events: int) -> float:
    started = time.perf_counter()
    settings = settings_for_url(url)
    datastore = PostgresDatastore(
        settings["POSTGRES_DBNAME"],
        settings["POSTGRES_HOST"],
        settings["POSTGRES_PORT"],
        settings["POSTGRES_USER"],
        settings["POSTGRES_PASSWORD"],
        schema=settings["POSTGRES_SCHEMA"],
    )
    try:
        recorder = ChainedPostgresApplicationRecorder(
            datastore, events_table_name="rotationprogram_events"
        )
        recorder.create_table()
        batch: list[StoredEvent]
        for batch in stored_batches(events):
            recorder.insert_events(batch)
    finally:
        datastore.close()
    return time.perf_counter() - started


def _saves_per_second(store: FreshStore, topic: str, saves: int) -> float:
    env = dict(store.baseline_env, APPLICATION_RECORDER_TOPIC=topic)
    app = BaselineApplication(env=env)
    try:
        for n in range(20):
            app.save(Tick(n=n))
        started = time.perf_counter()
        for n in range(saves):
            app.save(Tick(n=n))
        return saves / (time.perf_counter() - started)
    finally:
        app.close()


def save_rates(kind: StoreKind, saves: int, rounds: int) -> dict[str, Any]:
    """Median one-event saves per second, with eventsourcing's recorder and the chained one."""
    plain: list[float] = []
    chained: list[float] = []
    for _ in range(rounds):
        with kind.fresh("plain") as store:
            plain.append(_saves_per_second(store, PLAIN[kind.name], saves))
        with kind.fresh("chained") as store:
            chained.append(_saves_per_second(store, CHAINED[kind.name], saves))
    return {
        "plain_saves_per_second": round(statistics.median(plain)),
        "chained_saves_per_second": round(statistics.median(chained)),
        "ratio": round(statistics.median(chained) / statistics.median(plain), 3),
        "rounds": rounds,
        "saves_per_round": saves,
    }


def main(argv: list[str] | None = None) -> int:
    """Seed, verify, and compare save rates."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database URL")
    parser.add_argument("--postgres-events", type=int, default=None)
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    sqlite = SQLiteStores()
    try:
        with sqlite.fresh("verify") as store:
            path = store.url.removeprefix("sqlite:///")
            seconds = seed_log(Path(path), args.events)
            print(f"sqlite: seeded {args.events:,} events in {seconds:.1f} s")
            print("sqlite verify:", time_verification(lambda: open_for_audit(Path(path))))
        print("sqlite saves:", save_rates(sqlite, args.saves, args.rounds))
    finally:
        sqlite.close()
    if args.postgres:
        postgres = PostgresStores(args.postgres)
        events = args.postgres_events or args.events
        with postgres.fresh("verify") as store:
            seconds = _seed_postgres(store.url, events)
            print(f"postgres: seeded {events:,} events in {seconds:.1f} s")
            print(
                "postgres verify:",
                time_verification(lambda: open_program(store.url, inline=False)),
            )
        print("postgres saves:", save_rates(postgres, args.saves, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
