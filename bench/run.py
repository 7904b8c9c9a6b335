"""Run the benchmarks: ``.venv/bin/python bench/run.py [--quick] [--stores ...] [--json FILE]``.

Everything is measured in the same run and compared, as ratios, with a bare
eventsourcing application on the same store measured in the same repetition.
docs/benchmarks.md explains each figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, only the bench directory is on sys.path; `bench.*` needs the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline import baseline_saves_per_second, library_saves_per_second
from bench.domain import measure_interleaved, measure_kinds, measure_mix
from bench.floor import measure_floor, record_commands
from bench.isolation import in_fresh_process
from bench.load import SeededStore, measure_loads, seed_store
from bench.machine import machine_info, source_revision
from bench.report import StoreSamples, markdown, print_report, summarise
from bench.stores import (
    FreshStore,
    PostgresStores,
    SQLiteStores,
    StoreKind,
    postgres_server_version,
)

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PLUGINS = "default_views"
"""The plugins the measured programs load unless ROTATION_PLUGINS says otherwise: only the
project's own default views, not whatever example or third-party plugins are installed."""


@dataclass(frozen=True)
class Parameters:
    """How much each measurement does."""

    mode: str
    repetitions: int
    baseline_saves: int
    lives: int
    load_rotations: int
    load_repetitions: int
    busy_month_plans: int


QUICK = Parameters("quick", 3, 200, 15, 2_000, 5, 5)
FULL = Parameters("full", 6, 1_000, 100, 10_000, 15, 20)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller repetitions (<60 s)")
    parser.add_argument(
        "--stores",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (default: both)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ROTATION_BENCH_POSTGRES")
        or os.environ.get("ROTATION_TEST_POSTGRES")
        or DEFAULT_POSTGRES,
        help="server and database for the PostgreSQL stores; each store is a fresh schema",
    )
    parser.add_argument("--skip-load", action="store_true", help="skip the 10,000-rotation store")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an eventsourcing setting for the domain's program (what-if runs), repeatable; "
        "e.g. AGGREGATE_CACHE_FASTFORWARD=n",
    )
    return parser.parse_args(argv)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not available
        return "unknown"


def _store_kinds(
    names: list[str], postgres_url: str
) -> tuple[list[StoreKind], dict[str, str], str | None]:
    kinds: list[StoreKind] = []
    skipped: dict[str, str] = {}
    version: str | None = None
    for name in names:
        if name == "sqlite":
            kinds.append(SQLiteStores())
        elif name == "postgres":
            version, reason = postgres_server_version(postgres_url)
            if reason is not None:
                skipped["postgres"] = f"PostgreSQL skipped: {reason}"
                _progress(skipped["postgres"])
            else:
                kinds.append(PostgresStores(postgres_url))
        else:
            raise SystemExit(f"unknown store {name!r}: use sqlite and/or postgres")
    return kinds, skipped, version


def _settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--setting wants NAME=VALUE, got {pair!r}")
        settings[name.strip()] = value
    return settings


def _measure(
    kinds: list[StoreKind], params: Parameters, settings: dict[str, str], *, skip_load: bool
) -> dict[str, StoreSamples]:
    samples = {kind.name: StoreSamples() for kind in kinds}
    for rep in range(1, params.repetitions + 1):
        for kind in kinds:
            sample = samples[kind.name]
            _progress(
                f"[{rep}/{params.repetitions}] {kind.name}: baseline, the same save through"
                " this library, kinds, mix, interleaved, the last two without views, the floor"
            )
            with kind.fresh("baseline") as store:
                sample.baseline.append(
                    in_fresh_process(baseline_saves_per_second, store, params.baseline_saves)
                )
            with kind.fresh("library") as store:
                sample.library.append(
                    in_fresh_process(library_saves_per_second, store, params.baseline_saves)
                )
            with kind.fresh("kinds") as store:
                sample.kinds.append(measure_kinds(store, params.lives, settings))
            with kind.fresh("mix") as store:
                sample.mix.append(measure_mix(store, params.lives, settings))
            with kind.fresh("mixed") as store, kind.fresh("mixed-baseline") as baseline:
                sample.interleaved.append(
                    measure_interleaved(store, baseline, params.lives, settings)
                )
            with kind.fresh("core") as store:
                sample.core_mix.append(measure_mix(store, params.lives, settings, views=False))
            with kind.fresh("core-mixed") as store, kind.fresh("core-baseline") as baseline:
                sample.core_interleaved.append(
                    measure_interleaved(store, baseline, params.lives, settings, views=False)
                )
            with kind.fresh("floor-source") as store:
                commands = record_commands(store, params.lives)
            with (
                kind.fresh("floor") as chained,
                kind.fresh("floor-bare") as bare,
                kind.fresh("floor-baseline") as baseline,
            ):
                sample.floor.append(
                    in_fresh_process(measure_floor, commands, chained, bare, baseline)
                )
    if not skip_load:
        with contextlib.ExitStack() as stack:
            stores = [stack.enter_context(kind.fresh("load")) for kind in kinds]
            _progress(
                f"seeding {params.load_rotations:,} rotations in "
                f"{', '.join(kind.name for kind in kinds)} (in parallel, untimed)"
            )
            seeded = _seed_in_parallel(stores, params)
            for kind, filled in zip(kinds, seeded, strict=True):
                _progress(f"{kind.name}: loads of {filled.rotations:,} rotations")
                samples[kind.name].load = measure_loads(filled, params.load_repetitions, settings)
    return samples


def _seed_in_parallel(stores: list[FreshStore], params: Parameters) -> list[SeededStore]:
    """Seed the load stores, one worker process each: seeding is not measured."""
    if len(stores) < 2:
        return [seed_store(s, params.load_rotations, params.busy_month_plans) for s in stores]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(stores), mp_context=context) as pool:
        futures = [
            pool.submit(seed_store, s, params.load_rotations, params.busy_month_plans)
            for s in stores
        ]
        return [future.result() for future in futures]


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables and optionally write the JSON document."""
    args = _arguments(argv)
    params = QUICK if args.quick else FULL
    names = [name.strip() for name in args.stores.split(",") if name.strip()]
    settings = _settings(args.setting)
    plugins = os.environ.setdefault("ROTATION_PLUGINS", PLUGINS)  # read by open_program()
    load_before = _load_average()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    revision = source_revision()
    started = time.perf_counter()
    kinds, skipped, postgres_version = _store_kinds(names, args.postgres_url)
    try:
        samples = _measure(kinds, params, settings, skip_load=args.skip_load)
    finally:
        for kind in kinds:
            kind.close()
    stores, targets = summarise(samples)
    machine = machine_info(postgres_version)
    machine["started"] = started_at
    machine["load_average_before"] = load_before
    machine["load_average_after"] = _load_average()
    document: dict[str, Any] = {
        "machine": machine,
        "parameters": {**asdict(params), "settings": settings, "ROTATION_PLUGINS": plugins},
        "source": revision,
        "skipped": skipped,
        "stores": stores,
        "targets": targets,
        "seconds": time.perf_counter() - started,
    }
    print_report(document)
    print(f"\n{document['seconds']:.0f} s in all")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results written to {args.json}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(document))
        print(f"tables written to {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
