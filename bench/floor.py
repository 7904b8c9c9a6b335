"""The mix's storage floor: the exact events of its commands, written with nothing else.

A domain command saves the events its rules decide, in one transaction: a plan books
the rotation, the months it touches and the participant (R9), a session is one event.
The floor times only that: every command's stored events, as the mix recorded them,
inserted again into a fresh store by a recorder, one transaction a command, with no
command, rule, mapping or view around it. Whatever the domain does besides, the mix
cannot run faster than its floor, so the floor's rate over the baseline's is the most
the mix's ratio can reach with the events it records today.

Two floors are timed in the same process, alternating page by page: through this
library's recorder (the audit chain written beside each event) and through the bare
library's default recorder, with the baseline's one-event saves between them.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

from eventsourcing.persistence import StoredEvent

from bench.baseline import BaselineApplication, Tick, library_env
from bench.domain import ACTOR, prepare
from bench.stores import FreshStore

__all__ = ["FloorSample", "measure_floor", "record_commands"]

_PAGE = 17
"""Commands per alternation: one rotation's life."""


@dataclass
class FloorSample:
    """One repetition: commands, and seconds for the library's and the bare floor's."""

    commands: int
    events: int
    library_seconds: float
    bare_seconds: float
    saves: int
    save_seconds: float

    @property
    def library_ratio(self) -> float:
        """Commands per second at the library's floor over the baseline's saves per second."""
        return (self.commands / self.library_seconds) / (self.saves / self.save_seconds)

    @property
    def bare_ratio(self) -> float:
        """The same at the bare recorder's floor."""
        return (self.commands / self.bare_seconds) / (self.saves / self.save_seconds)


def record_commands(store: FreshStore, lives: int) -> list[list[StoredEvent]]:
    """Run the mix's lives on ``store`` (untimed); return each command's stored events."""
    program, every = prepare(store, lives)
    recorder = program.app.recorder
    commands: list[list[StoredEvent]] = []
    try:
        with program.acting_as(ACTOR):
            for life in every:
                for _, call in life.steps(program):
                    head = recorder.max_notification_id() or 0
                    call()
                    after = recorder.max_notification_id() or 0
                    notifications = recorder.select_notifications(
                        start=head + 1, limit=after - head
                    )
                    commands.append(
                        [
                            StoredEvent(
                                originator_id=n.originator_id,
                                originator_version=n.originator_version,
                                topic=n.topic,
                                state=n.state,
                            )
                            for n in notifications
                        ]
                    )
    finally:
        program.close()
    return commands


def measure_floor(
    commands: list[list[StoredEvent]],
    library_store: FreshStore,
    bare_store: FreshStore,
    baseline_store: FreshStore,
) -> FloorSample:
    """Insert ``commands`` into the two fresh stores, a transaction each, beside bare saves.

    Run it in a process of its own (`bench.isolation.in_fresh_process`): the three
    applications share it, alternating a rotation's life (17 commands, 17 saves) at a
    time, so the three rates are measured within milliseconds of each other.
    """
    chained = BaselineApplication(env=library_env(library_store))
    bare = BaselineApplication(env=bare_store.baseline_env)
    baseline = BaselineApplication(env=baseline_store.baseline_env)
    sample = FloorSample(len(commands), sum(map(len, commands)), 0.0, 0.0, 0, 0.0)
    try:
        for n in range(20):  # warm up each as the baseline measurement does
            baseline.save(Tick(n=n))
        gc.collect()
        for first in range(0, len(commands), _PAGE):
            page = commands[first : first + _PAGE]
            started = time.perf_counter()
            for events in page:
                chained.recorder.insert_events(events)
            sample.library_seconds += time.perf_counter() - started
            started = time.perf_counter()
            for events in page:
                bare.recorder.insert_events(events)
            sample.bare_seconds += time.perf_counter() - started
            started = time.perf_counter()
            for n in range(len(page)):
                baseline.save(Tick(n=n))
            sample.save_seconds += time.perf_counter() - started
            sample.saves += len(page)
    finally:
        for app in (chained, bare, baseline):
            app.close()
    return sample
