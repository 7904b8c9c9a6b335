"""Keeping the baseline's measurements out of the measured library's process.

The library keeps caches for the life of a process (ids, row keys, per-class codecs),
and a process that has run many commands or a rebuild holds more objects the garbage
collector walks. A bare eventsourcing measurement taken afterwards in the same process
is slowed by that, which flatters the library's ratio to it: after a rebuild of a
million events, the next bare scan in the same process ran at 77,266 events/s against
110,208 before it (caches of 65,536 entries then; 4,096 now). So the baselines run in
processes of their own.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from bench.baseline import BaselineApplication, Tick
from bench.stores import FreshStore

__all__ = ["BaselineSaver", "in_fresh_process"]

_T = TypeVar("_T")
_WARMUP = 20


def in_fresh_process(function: Callable[..., _T], *args: Any) -> _T:
    """Run one timed measurement in a new interpreter and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def _serve(connection: Connection, env: dict[str, str]) -> None:
    """The baseline's process: save as many `Tick`s as asked, answer the seconds taken."""
    app = BaselineApplication(env=env)
    try:
        for n in range(_WARMUP):
            app.save(Tick(n=n))
        gc.collect()
        while True:
            count = connection.recv()
            if count is None:
                return
            started = time.perf_counter()
            for n in range(count):
                app.save(Tick(n=n))
            connection.send(time.perf_counter() - started)
    finally:
        app.close()
        connection.close()


class BaselineSaver:
    """Bare one-event saves on demand, run and timed in a process of their own.

    The measured program's process waits while they run, so the two never share the
    machine's cores, and its caches cannot slow them.
    """

    def __init__(self, store: FreshStore) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, dict(store.baseline_env)), daemon=True
        )
        self._process.start()
        child.close()

    def saves(self, count: int) -> float:
        """Make ``count`` saves; the seconds they took, as the baseline's process timed them."""
        self._connection.send(count)
        seconds: float = self._connection.recv()
        return seconds

    def close(self) -> None:
        """Stop the baseline's process."""
        try:
            self._connection.send(None)
        finally:
            self._process.join(timeout=60)
            self._connection.close()
