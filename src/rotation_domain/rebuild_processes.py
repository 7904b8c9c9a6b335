"""A rebuild of several views shared among processes, one group of views each (ADR 0017).

Views are independent: each has its own rows and its own tracked position, and a
rebuild commits each view's rows together with its position. So the views of one
rebuild can be folded by several processes at once, each reading the log for its own
group of views, and the result is the rows of a rebuild in one process: every commit
is still a view's rows with its position, in one transaction.

The calling process resets the views, keeps the heaviest group and starts a worker
process (``python -c``, the same interpreter and ``sys.path``) for each other group. A
worker opens the same program from a `Reopen` (store URL, settings, plugins), checks
that it has the views it is given, at the same versions, and folds them from position
0 (`runners.catch_up_views`), reporting its position after each commit. A worker that
fails, or dies, leaves its views where its last commit put them; the calling process
then carries them on from there itself, so nothing is lost or folded twice.

Groups are balanced by how many events of the log each view reads, counted on a
sample of the log (`SAMPLE_READS` reads of `SAMPLE_SIZE` events spread over it).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import IO, Any

from eventsourcing.application import Application

from rotation_domain.consumers import ConsumerStore
from rotation_domain.log_pages import Progress
from rotation_domain.runners import REBUILD_PAGE_SIZE, ViewRunner, catch_up_views

__all__ = [
    "PARALLEL_MIN_EVENTS",
    "SAMPLE_READS",
    "SAMPLE_SIZE",
    "WORKER_VARIABLE",
    "Reopen",
    "available_cpus",
    "rebuild_in_processes",
    "sample_weights",
    "split",
    "worker_main",
]

logger = logging.getLogger(__name__)

PARALLEL_MIN_EVENTS = 100_000
"""The smallest log a rebuild shares among processes when the number is left to it.

A worker takes about half a second to start (imports, opening the program); a rebuild
folds 50,000 to 100,000 events a second, so below this a second process gains little.
"""
SAMPLE_READS = 10
"""Reads of the log, spread over it, that count how many events each view reads."""
SAMPLE_SIZE = 1_000
"""Events in each of those reads."""
WORKER_VARIABLE = "ROTATION_REBUILD_WORKER"
"""Set to the group's number in the environment of each worker process."""

_WORKER_CODE = (
    "import sys; from rotation_domain.rebuild_processes import worker_main; sys.exit(worker_main())"
)


@dataclass(frozen=True)
class Reopen:
    """How another process opens the same program: what `open_program` was given.

    Attributes:
        url: The store URL.
        settings: The ``settings`` given to `open_program`.
        plugins: The plugins given to `open_program`: module names, or the objects.
    """

    url: str
    settings: dict[str, str] = field(default_factory=dict)
    plugins: tuple[object, ...] = ()

    @classmethod
    def of(
        cls, url: str, env: dict[str, str], settings: dict[str, str], plugins: Iterable[object]
    ) -> Reopen | None:
        """The recipe of a program opened with these arguments, or None if it cannot be shared.

        A store in memory lives in one process only; a SQLite database in memory too.
        """
        module = env.get("PERSISTENCE_MODULE", "")
        if module not in ("eventsourcing.sqlite", "eventsourcing.postgres"):
            return None
        settings = dict(settings)
        if module == "eventsourcing.sqlite":
            name = env.get("SQLITE_DBNAME", "")
            if name == ":memory:" or "mode=memory" in name:
                return None
            if not name.startswith("file:") and not os.path.isabs(name):
                # A relative path names the file in this working directory, which the
                # host may change before a rebuild.
                settings["SQLITE_DBNAME"] = os.path.abspath(name)
        given = tuple(p.__name__ if isinstance(p, ModuleType) else p for p in plugins)
        return cls(url=url, settings=settings, plugins=given)

    def unsendable(self) -> str | None:
        """Why another process could not open the program from this recipe; None if it can.

        Plugin objects must pickle, and by a module the other process can import: not
        the host's main script (``__main__``), which a worker does not run.
        """
        for plugin in self.plugins:
            if type(plugin).__module__ == "__main__":
                return f"plugin {plugin!r} is defined in the main script"
        try:
            pickle.dumps(self)
        except Exception as error:  # noqa: BLE001 - whatever pickling raises, it cannot be sent
            return f"its plugins cannot be pickled ({error!r})"
        return None

    def open(self) -> Any:
        """Open the program this recipe describes, without catching up (a `RotationProgram`)."""
        from importlib import import_module

        from rotation_domain.application import open_program

        plugins = [import_module(p) if isinstance(p, str) else p for p in self.plugins]
        return open_program(self.url, settings=dict(self.settings), plugins=plugins, inline=False)


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sample_weights(app: Application[Any], runners: Sequence[ViewRunner]) -> dict[str, int]:
    """Per view, how many events of a sample of the log it reads (at least 1)."""
    head = app.recorder.max_notification_id() or 0
    topics: dict[str, int] = {}
    step = max(SAMPLE_SIZE, head // SAMPLE_READS)
    for start in range(1, head + 1, step):
        for notification in app.recorder.select_notifications(start, SAMPLE_SIZE):
            topics[notification.topic] = topics.get(notification.topic, 0) + 1
    every = sum(topics.values())
    return {
        runner.name: 1
        + (sum(topics.get(t, 0) for t in runner.view.topics) if runner.view.topics else every)
        for runner in runners
    }


def split(
    runners: Sequence[ViewRunner], weights: dict[str, int], groups: int
) -> list[list[ViewRunner]]:
    """The runners in at most ``groups`` groups of about equal weight, heaviest group first.

    Each view, heaviest first, goes to the lightest group so far; empty groups are dropped.
    """
    bins: list[tuple[int, list[ViewRunner]]] = [(0, []) for _ in range(max(1, groups))]
    for runner in sorted(runners, key=lambda r: (-weights.get(r.name, 1), r.name)):
        lightest = min(range(len(bins)), key=lambda n: bins[n][0])
        weight, members = bins[lightest]
        bins[lightest] = (weight + weights.get(runner.name, 1), [*members, runner])
    return [members for _, members in sorted(bins, key=lambda b: -b[0]) if members]


class _Worker:
    """One worker process folding a group of views, and what it reported."""

    def __init__(
        self,
        number: int,
        recipe: Reopen,
        head: int,
        group: list[ViewRunner],
        out: queue.Queue[Any],
    ) -> None:
        self.number = number
        self.group = group
        self.failure: str | None = None
        job = pickle.dumps(
            (recipe, head, [(r.name, r.view.version) for r in group]),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        env = {**os.environ, WORKER_VARIABLE: str(number)}
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        try:
            self.process = subprocess.Popen(  # this interpreter, fixed code
                [sys.executable, "-c", _WORKER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as error:
            self.failure = f"could not be started ({error})"
            out.put((number, None))
            return
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        try:
            pickle.dump(list(sys.path), self.process.stdin)
            self.process.stdin.write(job)
            self.process.stdin.close()
        except OSError as error:  # it died at once: its wait() tells
            self.failure = f"could not be given its job ({error})"
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout, out), daemon=True
        )
        self._reader.start()

    def running(self) -> bool:
        """Whether the process is still running."""
        return self.process is not None and self.process.poll() is None

    def _read(self, stdout: IO[bytes], out: queue.Queue[Any]) -> None:
        with stdout:
            for raw in stdout:
                word, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
                if word == "at" and rest.isdigit():
                    out.put((self.number, int(rest)))
                elif word == "failed":
                    self.failure = rest
        out.put((self.number, None))

    def finish(self) -> bool:
        """Wait for the process; True when it folded its whole group."""
        if self.process is None or self._reader is None:
            return False
        code = self.process.wait()
        self._reader.join()
        if code != 0 and self.failure is None:
            self.failure = f"exited with status {code}"
        return code == 0 and self.failure is None

    def stop(self) -> None:
        """Kill the process if it still runs (the calling process was interrupted)."""
        if self.process is None or self._reader is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join()


def rebuild_in_processes(
    app: Application[Any],
    store: ConsumerStore,
    groups: list[list[ViewRunner]],
    recipe: Reopen,
    progress: Progress | None,
) -> int:
    """Fold each group of views from position 0, the first here, the others in workers.

    The views must have been reset. ``progress(done, total)`` is called in this thread:
    ``done`` is the position every view has reached. A group whose worker failed is
    carried on here from where the worker left it. ``recipe`` must be sendable
    (`Reopen.unsendable`). Returns the number of groups.
    """
    total = app.recorder.max_notification_id() or 0
    reached = [0] * len(groups)
    shown = [0]
    reports: queue.Queue[Any] = queue.Queue()

    def show() -> None:
        done = min(reached)
        if progress is not None and done > shown[0]:
            shown[0] = done
            progress(done, total)

    def drain(block: bool) -> None:
        while True:
            try:
                number, position = reports.get(block=block, timeout=0.2 if block else None)
            except queue.Empty:
                return
            if position is not None:
                reached[number] = min(total, position)
            block = False

    def here(number: int) -> Progress:
        def report(done: int, _: int) -> None:
            reached[number] = min(total, done)
            drain(block=False)
            show()

        return report

    workers = [_Worker(n, recipe, total, group, reports) for n, group in enumerate(groups) if n]
    try:
        catch_up_views(app, store, groups[0], here(0), page_size=REBUILD_PAGE_SIZE)
        reached[0] = total
        while any(w.running() for w in workers):
            drain(block=True)
            show()
        for worker in workers:
            if worker.finish():
                reached[worker.number] = total
                continue
            logger.warning(
                "the rebuild's worker for views %s failed (%s); carrying them on here",
                ", ".join(r.name for r in worker.group),
                worker.failure,
            )
            catch_up_views(
                app, store, worker.group, here(worker.number), page_size=REBUILD_PAGE_SIZE
            )
            reached[worker.number] = total
        drain(block=False)
        show()
    finally:
        for worker in workers:
            worker.stop()
    return len(groups)


def worker_main() -> int:
    """A worker process: read its job on stdin, fold its views, report on stdout.

    Only the reports reach the calling process's pipe: whatever else writes to standard
    output (a plugin's print) goes to standard error.
    """
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        sys.path[:] = pickle.load(stdin)  # before the job: its plugins may live there
        recipe, head, wanted = pickle.load(stdin)
    except Exception as error:  # noqa: BLE001 - reported to the calling process
        print(f"failed could not read the job: {error!r}", file=stdout, flush=True)
        return 1
    try:
        program = recipe.open()
    except Exception as error:  # noqa: BLE001
        print(f"failed could not open the program: {error!r}", file=stdout, flush=True)
        return 1
    try:
        found = program.app.recorder.max_notification_id() or 0
        if found < head:  # the log only grows: this is another store
            print(
                f"failed opened a store whose log ends at {found}, not at {head} or later",
                file=stdout,
                flush=True,
            )
            return 1
        runners = []
        for name, version in wanted:
            runner = program.consumers.views.get(name)
            if runner is None or runner.view.version != version:
                state = "missing" if runner is None else f"at version {runner.view.version}"
                print(f"failed view {name} (version {version}) is {state}", file=stdout, flush=True)
                return 1
            runners.append(runner)

        def report(done: int, _: int) -> None:
            print(f"at {done}", file=stdout, flush=True)

        consumers = program.consumers
        with consumers.store.bulk_writes():
            catch_up_views(
                consumers.app, consumers.store, runners, report, page_size=REBUILD_PAGE_SIZE
            )
    except Exception as error:  # noqa: BLE001
        print(f"failed {error!r}", file=stdout, flush=True)
        return 1
    finally:
        program.close()
    return 0
