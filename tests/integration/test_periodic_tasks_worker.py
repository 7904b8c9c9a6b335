"""``rotation worker`` runs the plugins' periodic tasks, and a failing task never stops it."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.worker import Worker
from rotation_domain import open_program
from rotation_domain.hookspecs import hookimpl


class Tick:
    """A task that counts its runs."""

    def __init__(self, name: str, *, fails: bool = False) -> None:
        self.name = name
        self.interval_seconds = 0.05
        self.fails = fails
        self.runs: list[datetime] = []

    def run(self, program: Any, now: datetime) -> int:
        self.runs.append(now)
        if self.fails:
            raise RuntimeError(f"{self.name} fails on purpose")
        return len(self.runs)


class Ticks:
    name = "ticks"

    def __init__(self, *tasks: Tick) -> None:
        self.tasks = tasks

    @hookimpl
    def rotation_periodic_tasks(self, settings: Mapping[str, str]) -> Sequence[Tick]:
        return self.tasks


def test_a_sqlite_worker_runs_each_task_every_interval(tmp_path: Path) -> None:
    good, bad = Tick("good"), Tick("bad", fails=True)
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    with open_program(url, inline=False, plugins=[Ticks(good, bad)]) as program:
        claimed: list[str] = []
        worker = Worker(program, claim_interval=0.05, poll_interval=0.01, on_claim=claimed.append)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while len(good.runs) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            worker.stop()
            thread.join(timeout=10)
        assert not thread.is_alive()
    assert {"task:good", "task:bad"} <= set(claimed)
    assert len(good.runs) >= 4
    assert len(bad.runs) >= 3  # it failed every time and kept being run
    gaps = [(b - a).total_seconds() for a, b in zip(good.runs, good.runs[1:], strict=False)]
    assert min(gaps) >= 0.04  # not more often than its interval
