"""The baseline: a bare eventsourcing Application saving a trivial aggregate, one event a save."""

from __future__ import annotations

import gc
import time
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from bench.stores import FreshStore

__all__ = ["BaselineApplication", "Tick", "baseline_saves_per_second"]


class Tick(Aggregate):
    """The smallest useful aggregate: created with one integer, by one event."""

    class Created(Aggregate.Created):
        """The aggregate was created."""

        n: int

    def __init__(self, n: int) -> None:
        self.n = n


class BaselineApplication(Application[UUID]):
    """Library defaults: the default Mapper, JSON transcoder, no snapshots, no cache."""

    name = "BenchBaseline"


def baseline_saves_per_second(store: FreshStore, saves: int, warmup: int = 20) -> float:
    """Saves per second on an empty store: each creates a `Tick` (one event) and saves it.

    One save is one event and one transaction; creating the aggregate is timed too, so
    this is the bare library's cheapest possible command.
    """
    app = BaselineApplication(env=store.baseline_env)
    try:
        for n in range(warmup):
            app.save(Tick(n=n))
        gc.collect()
        started = time.perf_counter()
        for n in range(saves):
            app.save(Tick(n=n))
        elapsed = time.perf_counter() - started
    finally:
        app.close()
    return saves / elapsed
