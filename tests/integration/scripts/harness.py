"""What the runner and worker tests share: polling with deadlines, child processes, view rows.

Loaded by the tests from this directory (it is not a test module).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from rotation_domain import RotationProgram

SCRIPTS = Path(__file__).parent
T = TypeVar("T")

Rows = list[tuple[str, dict[str, Any]]]


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.02,
    explain: Callable[[], str] = lambda: "",
) -> T:
    """Call ``probe`` until it returns something true, and return that; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            detail = explain()
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}"
                + (f"\n{detail}" if detail else "")
            )
        time.sleep(interval)


class Child:
    """A child process whose output goes to files, so that it never blocks on a pipe."""

    def __init__(self, args: Sequence[str], *, logs: Path, env: dict[str, str] | None = None):
        logs.mkdir(parents=True, exist_ok=True)
        self.args = list(args)
        self._stdout = (logs / "stdout").open("wb")
        self._stderr = (logs / "stderr").open("wb")
        self.logs = logs
        self.process = subprocess.Popen(
            self.args,
            stdout=self._stdout,
            stderr=self._stderr,
            env={**os.environ, **(env or {})},
        )
        self.pid = self.process.pid

    def running(self) -> bool:
        """Whether the process has not ended yet."""
        return self.process.poll() is None

    def output(self) -> str:
        """What the process printed so far (the end of its stderr and stdout)."""
        self._stdout.flush()
        self._stderr.flush()
        out = (self.logs / "stdout").read_text(errors="replace")
        err = (self.logs / "stderr").read_text(errors="replace")
        return f"exit code: {self.process.poll()}\nstdout:\n{out[-3000:]}\nstderr:\n{err[-6000:]}"

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM the process and wait for it to end; its exit code."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        """Kill the process if it still runs; close its log files."""
        try:
            self.kill()
        finally:
            self._stdout.close()
            self._stderr.close()


def python_script(name: str, *args: str) -> list[str]:
    """The command that runs a script of this directory with the tests' interpreter."""
    return [sys.executable, str(SCRIPTS / name), *args]


def view_rows(program: RotationProgram) -> dict[str, Rows]:
    """Every view's committed rows, by view name (what the program folded committed first)."""
    program.consumers.commit_views()
    store = program.consumers.store
    return {name: list(store.reader(name).scan()) for name in program.consumers.views}


def positions(program: RotationProgram) -> dict[str, int]:
    """Every consumer's position, by name."""
    return {status.name: status.position for status in program.consumer_status()}


def head(program: RotationProgram) -> int:
    """The position of the last event recorded."""
    return program.app.recorder.max_notification_id() or 0


def settled(program: RotationProgram) -> bool:
    """Whether every consumer has done every event of its topics recorded so far."""
    recorder = program.app.recorder
    store = program.consumers.store
    consumers = program.consumers
    runners: dict[str, Any] = {**consumers.views, **consumers.integrations}
    for name, runner in runners.items():
        left = recorder.select_notifications(
            start=store.position(name),
            limit=1,
            topics=sorted(runner.consumer.topics),
            inclusive_of_start=False,
        )
        if left:
            return False
    return True


def failures(program: RotationProgram) -> dict[str, list[Any]]:
    """The failing or parked events of every consumer that has some."""
    store = program.consumers.store
    found = {s.name: store.failures(s.name) for s in program.consumer_status()}
    return {name: failed for name, failed in found.items() if failed}


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database (WAL included) with SQLite's backup API."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def differences(left: dict[str, Rows], right: dict[str, Rows]) -> list[str]:
    """A short description of how two sets of view rows differ (empty when equal)."""
    found = []
    for view in sorted(left.keys() | right.keys()):
        a, b = dict(left.get(view, [])), dict(right.get(view, []))
        if a == b:
            continue
        only_a = sorted(a.keys() - b.keys())[:5]
        only_b = sorted(b.keys() - a.keys())[:5]
        changed = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])[:5]
        found.append(
            f"{view}: {len(a)} vs {len(b)} rows; only left {only_a}; only right {only_b}; "
            f"changed {[(k, a[k], b[k]) for k in changed]}"
        )
    return found
