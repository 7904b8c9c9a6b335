"""Medians, ratios, the printed table and the JSON document of a run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.domain import KINDS, InterleavedSample, KindSample, MixSample
from bench.floor import FloorSample
from bench.load import LoadResult

__all__ = [
    "COMMAND_RATIO_TARGET",
    "LOAD_MS_TARGET",
    "StoreSamples",
    "markdown",
    "print_report",
    "summarise",
]

COMMAND_RATIO_TARGET = 0.8
"""Domain commands per second, as a share of the baseline's saves per second."""
LOAD_MS_TARGET = 5.0
"""Milliseconds to load the Program (cold) in a store of 10,000 rotations."""


@dataclass
class StoreSamples:
    """Everything measured on one kind of store, repetition by repetition."""

    baseline: list[float] = field(default_factory=list)
    library: list[float] = field(default_factory=list)
    """The baseline's saves through this library's recorder and mapper (not a target)."""
    kinds: list[KindSample] = field(default_factory=list)
    mix: list[MixSample] = field(default_factory=list)
    interleaved: list[InterleavedSample] = field(default_factory=list)
    core_mix: list[MixSample] = field(default_factory=list)
    """The mix with the program opened without the default views plugin."""
    core_interleaved: list[InterleavedSample] = field(default_factory=list)
    """The interleaved mix, without the default views plugin."""
    floor: list[FloorSample] = field(default_factory=list)
    """The mix's events written again by a recorder alone (`bench.floor`; not a target)."""
    load: LoadResult | None = None


def _stat(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "samples": list(values),
    }


def _ratio(rates: Sequence[float], baseline: Sequence[float]) -> dict[str, Any]:
    """Each repetition's rate over the baseline measured just before it, in the same run."""
    return _stat([rate / base for rate, base in zip(rates, baseline, strict=True)])


def _commands(samples: StoreSamples) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in KINDS:
        rates, event_rates, latencies, events = [], [], [], []
        for sample in samples.kinds:
            durations = sample.durations[kind]
            seconds = sum(durations)
            rates.append(len(durations) / seconds)
            event_rates.append(sample.events[kind] / seconds)
            events.append(sample.events[kind] / len(durations))
            latencies.append(statistics.median(durations) * 1000)
        out[kind] = {
            "commands_per_rep": len(samples.kinds[0].durations[kind]),
            "commands_per_s": _stat(rates),
            "ratio": _ratio(rates, samples.baseline),
            "events_per_s": _stat(event_rates),
            "events_per_command": statistics.median(events),
            "latency_ms": _stat(latencies),
        }
    return out


def _mix(mix: Sequence[MixSample], baseline: Sequence[float]) -> dict[str, Any]:
    rates = [m.commands / m.seconds for m in mix]
    return {
        "commands_per_rep": mix[0].commands,
        "commands_per_s": _stat(rates),
        "ratio": _ratio(rates, baseline),
        "events_per_s": _stat([m.events / m.seconds for m in mix]),
        "events_per_command": statistics.median(m.events / m.commands for m in mix),
    }


def _interleaved(interleaved: Sequence[InterleavedSample]) -> dict[str, Any]:
    return {
        "commands_per_rep": interleaved[0].commands,
        "commands_per_s": _stat([i.commands / i.command_seconds for i in interleaved]),
        "baseline_saves_per_s": _stat([i.saves / i.save_seconds for i in interleaved]),
        "ratio": _stat([i.ratio for i in interleaved]),
    }


def _floor(floor: Sequence[FloorSample]) -> dict[str, Any]:
    return {
        "events_per_command": floor[0].events / floor[0].commands,
        "library_ms_per_command": _stat([f.library_seconds / f.commands * 1e3 for f in floor]),
        "bare_ms_per_command": _stat([f.bare_seconds / f.commands * 1e3 for f in floor]),
        "baseline_ms_per_save": _stat([f.save_seconds / f.saves * 1e3 for f in floor]),
        "library_ratio": _stat([f.library_ratio for f in floor]),
        "bare_ratio": _stat([f.bare_ratio for f in floor]),
    }


def _load(result: LoadResult) -> dict[str, Any]:
    return {
        "rotations": result.rotations,
        "seed_seconds": result.seed_seconds,
        "seed_events": result.seed_events,
        "program": result.program,
        "roster": result.roster,
        "first_load_ms": {k: _stat(v) for k, v in result.first_ms.items()},
        "evicted_load_ms": {k: _stat(v) for k, v in result.evicted_ms.items()},
        "cached_get_ms": {k: _stat(v) for k, v in result.cached_ms.items()},
        "busiest_month_command_ms": {k: _stat(v) for k, v in result.busy_month_ms.items()},
    }


def _ratio_target(store: str, what: str, ratio: float) -> dict[str, Any]:
    return {
        "store": store,
        "what": what,
        "value": ratio,
        "target": f">= {COMMAND_RATIO_TARGET}",
        "met": ratio >= COMMAND_RATIO_TARGET,
    }


def summarise(samples: dict[str, StoreSamples]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The per-store results and the verdict on each target."""
    stores: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for name, sample in samples.items():
        store: dict[str, Any] = {"baseline": {"saves_per_s": _stat(sample.baseline)}}
        if sample.library:  # reported beside the targets: the most a command can reach
            store["library"] = {
                "saves_per_s": _stat(sample.library),
                "ratio": _ratio(sample.library, sample.baseline),
            }
        if sample.kinds:
            store["commands"] = _commands(sample)
        if sample.mix:
            store["mix"] = _mix(sample.mix, sample.baseline)
            targets.append(
                _ratio_target(
                    name,
                    "typical mix, commands/s over baseline saves/s",
                    store["mix"]["ratio"]["median"],
                )
            )
        if sample.interleaved:
            store["interleaved"] = _interleaved(sample.interleaved)
            targets.append(
                _ratio_target(
                    name,
                    "typical mix interleaved life by life with bare saves, ratio",
                    store["interleaved"]["ratio"]["median"],
                )
            )
        if sample.core_mix:  # reported beside the targets, not held to them
            store["core_mix"] = _mix(sample.core_mix, sample.baseline)
        if sample.core_interleaved:
            store["core_interleaved"] = _interleaved(sample.core_interleaved)
        if sample.floor:  # the most the mix's ratio can reach with the events it records
            store["floor"] = _floor(sample.floor)
        if sample.load is not None:
            store["load"] = _load(sample.load)
            rotations = f"{sample.load.rotations:,}"
            for what in ("program", "roster"):
                for key, how in (
                    ("first_load_ms", "new program instance"),
                    ("evicted_load_ms", "cache evicted, warm instance"),
                ):
                    value = store["load"][key][what]["median"]
                    targets.append(
                        {
                            "store": name,
                            "what": f"cold load of the {what} after {rotations} rotations, "
                            f"ms ({how})",
                            "value": value,
                            "target": f"< {LOAD_MS_TARGET}",
                            "met": value < LOAD_MS_TARGET,
                        }
                    )
        stores[name] = store
    return stores, targets


def _spread(stat: dict[str, Any], fmt: str) -> str:
    return f"{stat['median']:{fmt}} [{stat['min']:{fmt}}-{stat['max']:{fmt}}]"


def print_report(document: dict[str, Any]) -> None:
    """Print the run's tables: throughput with ratios, then loads, then the targets."""
    machine = document["machine"]
    params = document["parameters"]
    print()
    print(
        f"rotation-domain bench ({params['mode']}): {machine['cpu_model']}, "
        f"{machine['cores']} cores, Python {machine['python']}, eventsourcing "
        f"{machine['eventsourcing']}, SQLite {machine['sqlite']}, PostgreSQL "
        f"{machine['postgresql']}; load average {machine['load_average_before']} before, "
        f"{machine['load_average_after']} after"
    )
    print(
        f"{params['repetitions']} repetitions, medians [min-max]; ratio = rate / baseline "
        "saves/s of the same repetition"
    )
    source = document["source"]
    changed = len(source["src_changes"])
    print(
        f"source: commit {source['commit']}"
        + (f" plus {changed} uncommitted file(s) under src/" if changed else "")
        + f"; rotation_domain imported from {source['rotation_domain_imported_from']}"
    )
    print(f"plugins allowed (ROTATION_PLUGINS): {params['ROTATION_PLUGINS']}")
    if params["settings"]:
        print(f"WHAT-IF settings for the domain's program: {params['settings']}")
    for reason in document["skipped"].values():
        print(f"SKIPPED: {reason}")
    header = (
        f"{'store':9} {'measure':24} {'per second':>22} {'ratio':>20} {'events/s':>9} {'ms':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, store in document["stores"].items():
        base = store["baseline"]["saves_per_s"]
        print(f"{name:9} {'baseline save':24} {_spread(base, '.0f'):>22} {'1':>20}")
        if "mix" in store:
            mix = store["mix"]
            print(
                f"{name:9} {'typical mix (17/life)':24} "
                f"{_spread(mix['commands_per_s'], '.0f'):>22} "
                f"{_spread(mix['ratio'], '.2f'):>20} {mix['events_per_s']['median']:9.0f}"
            )
        if "interleaved" in store:
            mixed = store["interleaved"]
            print(
                f"{name:9} {'  interleaved with saves':24} "
                f"{_spread(mixed['commands_per_s'], '.0f'):>22} "
                f"{_spread(mixed['ratio'], '.2f'):>20}"
            )
        if "library" in store:
            library = store["library"]
            print(
                f"{name:9} {'  same save, this library':24} "
                f"{_spread(library['saves_per_s'], '.0f'):>22} "
                f"{_spread(library['ratio'], '.2f'):>20}"
            )
        if "core_mix" in store:
            core = store["core_mix"]
            print(
                f"{name:9} {'  without views: mix':24} "
                f"{_spread(core['commands_per_s'], '.0f'):>22} "
                f"{_spread(core['ratio'], '.2f'):>20} {core['events_per_s']['median']:9.0f}"
            )
        if "core_interleaved" in store:
            core = store["core_interleaved"]
            print(
                f"{name:9} {'  without views: interl.':24} "
                f"{_spread(core['commands_per_s'], '.0f'):>22} "
                f"{_spread(core['ratio'], '.2f'):>20}"
            )
        if "floor" in store:
            floor = store["floor"]
            print(
                f"{name:9} {'  floor: events alone':24} "
                f"{_spread(floor['library_ms_per_command'], '.3f'):>19} ms "
                f"{_spread(floor['library_ratio'], '.2f'):>20}"
            )
            print(
                f"{name:9} {'  floor, bare recorder':24} "
                f"{_spread(floor['bare_ms_per_command'], '.3f'):>19} ms "
                f"{_spread(floor['bare_ratio'], '.2f'):>20}"
            )
        for kind, row in store.get("commands", {}).items():
            print(
                f"{name:9}   {kind:22} {_spread(row['commands_per_s'], '.0f'):>22} "
                f"{_spread(row['ratio'], '.2f'):>20} {row['events_per_s']['median']:9.0f} "
                f"{row['latency_ms']['median']:6.2f}"
            )
    loads = {name: store["load"] for name, store in document["stores"].items() if "load" in store}
    if loads:
        print()
        header = (
            f"{'store':9} {'aggregate':24} {'version/snap/tail':>17} {'first ms':>8} "
            f"{'evicted':>8} {'cached':>8}"
        )
        print(header)
        print("-" * len(header))
        for name, load in loads.items():
            print(
                f"{name:9} seeded {load['rotations']:,} rotations, {load['seed_events']:,} "
                f"events in {load['seed_seconds']:.1f} s (bulk, untimed elsewhere)"
            )
            for what in ("program", "roster"):
                info = load[what]
                label = "Program"
                if what == "roster":
                    label = f"MonthRoster {info['month']} ({info['bookings']} bk)"
                shape = (
                    f"{info['version']}/{info['snapshot_version']}/{info['events_after_snapshot']}"
                )
                print(
                    f"{name:9} {label:24} {shape:>17} "
                    f"{load['first_load_ms'][what]['median']:8.2f} "
                    f"{load['evicted_load_ms'][what]['median']:8.2f} "
                    f"{load['cached_get_ms'][what]['median']:8.2f}"
                )
            for kind, stat in load["busiest_month_command_ms"].items():
                print(f"{name:9}   {kind + ' in that month':40} {stat['median']:8.2f} ms")
    print()
    for target in document["targets"]:
        verdict = "MET" if target["met"] else "MISSED"
        print(
            f"{verdict:6} {target['store']:9} {target['what']}: {target['value']:.2f} "
            f"(target {target['target']})"
        )


def markdown(document: dict[str, Any]) -> str:
    """The run's figures as Markdown tables, for docs/benchmarks.md."""
    lines = [
        "| store | measure | per second, median [min-max] | ratio to baseline, median "
        "[min-max] | events/s | median ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, store in document["stores"].items():
        base = store["baseline"]["saves_per_s"]
        lines.append(f"| {name} | baseline save (1 event) | {_spread(base, ',.0f')} | 1 | | |")
        if "library" in store:
            library = store["library"]
            lines.append(
                f"| {name} | the same save through this library's recorder and mapper | "
                f"{_spread(library['saves_per_s'], ',.0f')} | {_spread(library['ratio'], '.2f')} "
                "| | |"
            )
        if "mix" in store:
            mix = store["mix"]
            lines.append(
                f"| {name} | **typical mix** (17 commands a life) | "
                f"{_spread(mix['commands_per_s'], ',.0f')} | **{_spread(mix['ratio'], '.2f')}** | "
                f"{mix['events_per_s']['median']:,.0f} | |"
            )
        if "interleaved" in store:
            mixed = store["interleaved"]
            lines.append(
                f"| {name} | typical mix, each life followed by as many bare saves | "
                f"{_spread(mixed['commands_per_s'], ',.0f')} | {_spread(mixed['ratio'], '.2f')} "
                "| | |"
            )
        if "core_mix" in store:
            core = store["core_mix"]
            lines.append(
                f"| {name} | typical mix without the default views | "
                f"{_spread(core['commands_per_s'], ',.0f')} | {_spread(core['ratio'], '.2f')} | "
                f"{core['events_per_s']['median']:,.0f} | |"
            )
        if "core_interleaved" in store:
            core = store["core_interleaved"]
            lines.append(
                f"| {name} | interleaved, without the default views | "
                f"{_spread(core['commands_per_s'], ',.0f')} | {_spread(core['ratio'], '.2f')} "
                "| | |"
            )
        if "floor" in store:
            floor = store["floor"]
            lines.append(
                f"| {name} | floor: the mix's own events ({floor['events_per_command']:.2f} a "
                "command) inserted by this library's recorder alone, a transaction a command | "
                f"{_spread(floor['library_ms_per_command'], '.3f')} ms a command | "
                f"{_spread(floor['library_ratio'], '.2f')} | | |"
            )
            lines.append(
                f"| {name} | the same floor through the bare library's recorder | "
                f"{_spread(floor['bare_ms_per_command'], '.3f')} ms a command | "
                f"{_spread(floor['bare_ratio'], '.2f')} | | |"
            )
        for kind, row in store.get("commands", {}).items():
            lines.append(
                f"| {name} | {kind} | {_spread(row['commands_per_s'], ',.0f')} | "
                f"{_spread(row['ratio'], '.2f')} | {row['events_per_s']['median']:,.0f} | "
                f"{row['latency_ms']['median']:.2f} |"
            )
    loads = {name: store["load"] for name, store in document["stores"].items() if "load" in store}
    if loads:
        lines += [
            "",
            "| store | aggregate | version / snapshot / events after it | first load in a new "
            "instance, ms | cold load, warm instance, ms | cached get, ms |",
            "|---|---|---|---:|---:|---:|",
        ]
        for name, load in loads.items():
            for what in ("program", "roster"):
                info = load[what]
                label = "Program"
                if what == "roster":
                    label = f"MonthRoster {info['month']} ({info['bookings']} bookings)"
                lines.append(
                    f"| {name} | {label} | {info['version']} / {info['snapshot_version']} / "
                    f"{info['events_after_snapshot']} | "
                    f"{_spread(load['first_load_ms'][what], '.1f')} | "
                    f"{_spread(load['evicted_load_ms'][what], '.1f')} | "
                    f"{_spread(load['cached_get_ms'][what], '.1f')} |"
                )
            for kind, stat in load["busiest_month_command_ms"].items():
                lines.append(
                    f"| {name} | {kind} in {load['roster']['month']} | | "
                    f"{_spread(stat, '.1f')} (command) | | |"
                )
    return "\n".join(lines) + "\n"
