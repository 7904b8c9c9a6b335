"""The baseline: a bare eventsourcing Application saving a trivial aggregate, one event a save."""

from __future__ import annotations

import gc
import time
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from adapters.store_urls import settings_for_url
from bench.stores import FreshStore

__all__ = [
    "LIBRARY_PERSISTENCE",
    "BaselineApplication",
    "Tick",
    "baseline_saves_per_second",
    "library_env",
    "library_saves_per_second",
]

LIBRARY_PERSISTENCE = ("APPLICATION_RECORDER_TOPIC", "MAPPER_TOPIC")
"""The settings of `open_program()` that `library_saves_per_second` adds to the baseline's."""


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
    return _saves_per_second(store.baseline_env, saves, warmup)


def library_saves_per_second(store: FreshStore, saves: int, warmup: int = 20) -> float:
    """The baseline's saves, stored the way this library stores every command's events.

    The same `Tick` aggregate and one event a save, but through the recorder and the
    mapper `open_program()` gives the store's URL (`LIBRARY_PERSISTENCE`): the audit
    chain written beside each event, the cattrs mapper. Not a target: its rate over the
    baseline's is the most any domain command can reach, since each saves this way and
    does its own work besides.
    """
    return _saves_per_second(library_env(store), saves, warmup)


def library_env(store: FreshStore) -> dict[str, str]:
    """The baseline's settings for ``store`` with this library's recorder and mapper."""
    library = settings_for_url(store.url)
    return {**store.baseline_env, **{k: library[k] for k in LIBRARY_PERSISTENCE if k in library}}


def _saves_per_second(env: dict[str, str], saves: int, warmup: int) -> float:
    app = BaselineApplication(env=env)
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
