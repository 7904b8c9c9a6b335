"""Where a command's time goes: ``.venv/bin/python bench/attribution.py [--store ...]``.

A profiler made of a few timing wrappers rather than cProfile: it times only the
calls that matter (loads, deep copies, queries, decoding, saving, commits,
snapshots, the R9 check) and keeps each timing under the path of wrapped calls it
ran inside, so ``save > snapshot > load > reconstruct > select`` is told apart from
a command's own ``load > select``. Its overhead is a few microseconds per wrapped
call, so database waits keep their real share (cProfile inflates Python code).

It prints, per command kind, milliseconds per command for each path, then the same
for cold loads of the Program and the busiest roster in a seeded store.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eventsourcing.application as es_application
import orjson
from eventsourcing.application import Application, Repository
from eventsourcing.persistence import AggregateRecorder

import rotation_domain.roster as roster_module
from adapters.consumer_store_sqlite import SQLiteConsumerStore
from adapters.mapper import CattrsMapper
from bench.domain import prepare
from bench.load import SeededStore, open_settled, seed_store
from bench.stores import PostgresStores, SQLiteStores, StoreKind, postgres_server_version
from rotation_domain import MonthRoster, RotationProgram, open_program
from rotation_domain.inline_views import InlineViews
from rotation_domain.program import PROGRAM_ID
from rotation_domain.runners import ViewRunner

Path_ = tuple[str, ...]


class Attribution:
    """Inclusive time and calls per path of wrapped calls."""

    def __init__(self) -> None:
        self.seconds: dict[Path_, float] = defaultdict(float)
        self.calls: dict[Path_, int] = defaultdict(int)
        self._stack: list[str] = []

    def wrap(self, label: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(label)
            path = tuple(self._stack)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[path] += time.perf_counter() - started
                self.calls[path] += 1
                self._stack.pop()

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def print_tree(self, per: int, total_seconds: float, indent: str = "    ") -> None:
        """Each path's milliseconds and calls per unit (command or load), children indented."""
        print(f"{indent}{'total':40} {total_seconds / per * 1000:8.3f} ms")
        self._print_children((), per, indent, total_seconds)

    def _print_children(self, parent: Path_, per: int, indent: str, parent_s: float) -> None:
        children = sorted(
            (p for p in self.seconds if len(p) == len(parent) + 1 and p[: len(parent)] == parent),
            key=lambda p: -self.seconds[p],
        )
        for path in children:
            label = "  " * len(parent) + path[-1]
            calls = self.calls[path] / per
            print(
                f"{indent}{label:40} {self.seconds[path] / per * 1000:8.3f} ms ({calls:.2f} calls)"
            )
            self._print_children(path, per, indent, self.seconds[path])
        if children:
            rest = parent_s - sum(self.seconds[p] for p in children)
            label = "  " * len(parent) + "(the rest: own code)"
            print(f"{indent}{label:40} {rest / per * 1000:8.3f} ms")


@contextlib.contextmanager
def _patched(target: Any, name: str, replacement: Any) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, replacement)
    try:
        yield
    finally:
        setattr(target, name, original)


@contextlib.contextmanager
def instrumented(attribution: Attribution) -> Iterator[None]:
    """Wrap the library calls a command and a load are made of (class and module level)."""
    wrap = attribution.wrap
    with contextlib.ExitStack() as stack:
        for target, name, label in (
            (Repository, "get", "load"),
            (Repository, "_reconstruct_aggregate", "reconstruct"),
            (es_application, "deepcopy", "deepcopy"),
            (Application, "save", "save"),
            (Application, "_take_snapshots", "snapshots"),
            (roster_module, "check_caps", "check_caps (R9)"),
            (CattrsMapper, "to_stored_event", "encode"),
            (CattrsMapper, "to_domain_event", "decode"),
            (CattrsMapper, "_codec_for_topic", "build codec"),
            (CattrsMapper, "_structure_aggregate_state", "structure snapshot state"),
            (orjson, "loads", "json parse"),
            (InlineViews, "_fold", "views: fold the command's events"),
            (ViewRunner, "fold", "view logic"),
            (SQLiteConsumerStore, "commit_views", "views: commit rows and positions"),
        ):
            stack.enter_context(_patched(target, name, wrap(label, getattr(target, name))))
        yield


def instrument_program(program: RotationProgram, attribution: Attribution) -> None:
    """Wrap this program's recorders and its after-commit step, if it has one.

    Recorders: queries, and inserts with their commit. After commit: views and
    integrations catching up inline.
    """
    after_commit = getattr(program, "_after_commit", None)
    if after_commit is not None:
        program._after_commit = attribution.wrap("after commit (views catch up)", after_commit)
    app = program.app
    recorders: list[AggregateRecorder] = [app.recorder]
    if app.snapshots is not None:
        recorders.append(app.snapshots.recorder)
    for recorder in recorders:
        for name, label in (("insert_events", "insert + commit"), ("select_events", "select")):
            setattr(recorder, name, attribution.wrap(label, getattr(recorder, name)))


def profile_commands(kind: StoreKind, lives: int) -> None:
    """Per command kind: where the milliseconds of one command go."""
    with kind.fresh("profile") as store:
        program, every = prepare(store, lives)
        attribution = Attribution()
        instrument_program(program, attribution)
        try:
            plans = [life.steps(program) for life in every]
            per_kind: dict[str, tuple[list[float], Attribution]] = {}
            with program.acting_as("bench@example.com"), instrumented(attribution):
                for position in range(len(plans[0])):
                    kind_name = plans[0][position][0]
                    durations, seen = per_kind.setdefault(kind_name, ([], Attribution()))
                    attribution.reset()
                    for steps in plans:
                        started = time.perf_counter()
                        steps[position][1]()
                        durations.append(time.perf_counter() - started)
                    for path, seconds in attribution.seconds.items():
                        seen.seconds[path] += seconds
                        seen.calls[path] += attribution.calls[path]
        finally:
            program.close()
    print(f"\n== {kind.name}: milliseconds per command ({lives} lives) ==")
    for kind_name, (durations, seen) in per_kind.items():
        print(
            f"\n{kind_name}: {len(durations)} commands, median "
            f"{statistics.median(durations) * 1000:.2f} ms"
        )
        seen.print_tree(len(durations), sum(durations))


def _merge(into: Attribution, source: Attribution) -> None:
    for path, seconds in source.seconds.items():
        into.seconds[path] += seconds
        into.calls[path] += source.calls[path]


def profile_loads(kind: StoreKind, rotations: int, repetitions: int, plans: int) -> None:
    """Where a cold load of the Program and of the busiest roster goes; then R9 commands."""
    with kind.fresh("profile-load") as store:
        seeded = seed_store(store, rotations, plans)
        targets = {
            "Program": PROGRAM_ID,
            f"MonthRoster {seeded.busiest_month}": MonthRoster.id_for(seeded.busiest_month),
        }
        print(f"\n== {kind.name}: loads after {rotations:,} rotations ({repetitions} each) ==")
        for label, aggregate_id in targets.items():
            stages = {"first": Attribution(), "evicted": Attribution(), "cached": Attribution()}
            totals = dict.fromkeys(stages, 0.0)
            for _ in range(repetitions):
                with contextlib.closing(open_settled(store.url)) as program:
                    cache = program.app.repository.cache
                    assert cache is not None
                    attribution = Attribution()
                    instrument_program(program, attribution)
                    # first; an unrecorded warm-up after eviction; evicted; cached
                    for stage in ("first", None, "evicted", "cached"):
                        if stage in (None, "evicted"):
                            cache.get(aggregate_id, evict=True)
                        attribution.reset()
                        with instrumented(attribution):
                            started = time.perf_counter()
                            program.get(aggregate_id)
                            took = time.perf_counter() - started
                        if stage is not None:
                            totals[stage] += took
                            _merge(stages[stage], attribution)
            for stage, seen in stages.items():
                print(f"\n{label}, {stage} load:")
                seen.print_tree(repetitions, totals[stage])
        _profile_busy_month(seeded)


def _profile_busy_month(seeded: SeededStore) -> None:
    """Plan and nominate through ordinary commands in the busiest month, attributed."""
    company, month = seeded.company, seeded.busiest_month
    first = date(int(month[:4]), int(month[5:7]), 1)
    seen = {"plan_rotation": Attribution(), "nominate_mentor": Attribution()}
    totals = dict.fromkeys(seen, 0.0)
    attribution = Attribution()
    with contextlib.closing(open_program(seeded.store.url)) as program:
        instrument_program(program, attribution)
        with program.acting_as("bench@example.com"), instrumented(attribution):
            for n, person in enumerate(seeded.extra_staff):
                host = company.hosts[n % len(company.hosts)]
                start = first + timedelta(days=n % 7)
                attribution.reset()
                started = time.perf_counter()
                rotation = program.plan_rotation(
                    person, host_department=host, start=start, end=start + timedelta(days=20)
                )
                totals["plan_rotation"] += time.perf_counter() - started
                _merge(seen["plan_rotation"], attribution)
                attribution.reset()
                started = time.perf_counter()
                program.nominate_mentor(rotation, mentor=company.mentors[host][0])
                totals["nominate_mentor"] += time.perf_counter() - started
                _merge(seen["nominate_mentor"], attribution)
    count = len(seeded.extra_staff)
    for name, tree in seen.items():
        print(f"\n{name} in {month} ({count} commands):")
        tree.print_tree(count, totals[name])


def main(argv: list[str] | None = None) -> int:
    """Profile the commands and the loads on the chosen stores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--lives", type=int, default=30)
    parser.add_argument("--rotations", type=int, default=2_000)
    parser.add_argument("--load-repetitions", type=int, default=10)
    parser.add_argument("--busy-month-plans", type=int, default=10)
    parser.add_argument("--skip-commands", action="store_true")
    parser.add_argument("--skip-loads", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("ROTATION_PLUGINS", "default_views")  # as bench/run.py does
    kinds: list[StoreKind] = []
    for name in args.stores.split(","):
        if name == "sqlite":
            kinds.append(SQLiteStores())
        elif name == "postgres":
            _, reason = postgres_server_version(args.postgres_url)
            if reason is None:
                kinds.append(PostgresStores(args.postgres_url))
            else:
                print(f"PostgreSQL skipped: {reason}")
    try:
        for kind in kinds:
            if not args.skip_commands:
                profile_commands(kind, args.lives)
            if not args.skip_loads:
                profile_loads(kind, args.rotations, args.load_repetitions, args.busy_month_plans)
    finally:
        for kind in kinds:
            kind.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
