"""``rotation worker``: run the program's consumers in their own process.

On PostgreSQL each consumer (view or integration) is held by exactly one worker at a
time through a session-level advisory lock, keyed by the consumer's name and the
store's schema (stores in different schemas of one database never share a lock). A
worker that dies loses its connection, the server releases its locks, and another
worker takes the consumers over at its next round (every ``claim_interval`` seconds).
A worker whose lock session ends while it lives (the server ended it, the network
dropped it) has lost its locks too: it stops with an error at its next round instead
of running consumers another worker may hold by then. Live events arrive by
LISTEN/NOTIFY on the events table's channel, so a worker wakes as soon as a command
commits.

The plugins' periodic tasks (``rotation_periodic_tasks``) are held the same way, each
under the name ``task:<name>``, and run every ``interval_seconds`` by their holder.

On SQLite one worker holds every consumer through an exclusive lock on a file beside
the database (released by the operating system if the worker dies) and watches the
log by polling it every ``poll_interval`` seconds; it also runs its consumers every
``claim_interval`` seconds without a new event, so failed events are retried when due.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rotation_domain import RotationProgram

__all__ = ["Worker", "lock_key"]

logger = logging.getLogger(__name__)

_LOCK_CLASS = 0x726F74  # "rot": the first of the two advisory-lock keys


def lock_key(consumer: str, schema: str = "") -> int:
    """The advisory-lock key of a consumer: a stable 31-bit number from its name and schema.

    Advisory locks are per database, so the store's schema is part of the key: the
    consumers of stores in two schemas of one database are different consumers. The
    ``public`` schema (or none) keys by the name alone.
    """
    scope = consumer if schema in ("", "public") else f"{schema}.{consumer}"
    return zlib.crc32(scope.encode()) & 0x7FFFFFFF


def conninfo_of(settings: dict[str, str]) -> str:
    """A libpq connection string from the eventsourcing PostgreSQL settings."""
    import psycopg

    return psycopg.conninfo.make_conninfo(
        host=settings["POSTGRES_HOST"],
        port=settings.get("POSTGRES_PORT", "5432"),
        user=settings.get("POSTGRES_USER", "postgres"),
        password=settings.get("POSTGRES_PASSWORD", ""),
        dbname=settings["POSTGRES_DBNAME"],
    )


class _TaskRunner:
    """Runs one periodic task when it is due, as a worker runs a consumer."""

    def __init__(self, program: RotationProgram, name: str) -> None:
        self.program = program
        self.name = name

    def catch_up(self) -> None:
        tasks = self.program.tasks
        if tasks.due(self.name):
            run = tasks.run(self.name, self.program)
            if run.error is not None:
                logger.warning("periodic task %s failed: %s", self.name, run.error)


class Worker:
    """Claims consumers with advisory locks and runs them as events arrive."""

    def __init__(
        self,
        program: RotationProgram,
        *,
        claim_interval: float = 1.0,
        poll_interval: float = 0.01,
        on_claim: Callable[[str], None] | None = None,
    ) -> None:
        settings = dict(program.app.env.items())
        module = settings.get("PERSISTENCE_MODULE")
        if module not in ("eventsourcing.postgres", "eventsourcing.sqlite"):
            raise ValueError(
                f"rotation worker runs on a PostgreSQL or SQLite file store, not on {module!r}"
            )
        self.program = program
        self.postgres = module == "eventsourcing.postgres"
        self.conninfo = conninfo_of(settings) if self.postgres else ""
        self.schema = settings.get("POSTGRES_SCHEMA", "") if self.postgres else ""
        self.sqlite_path = settings.get("SQLITE_DBNAME", "")
        self.claim_interval = claim_interval
        self.poll_interval = poll_interval
        self.on_claim = on_claim
        self.held: set[str] = set()
        self.stopping = threading.Event()
        recorder: Any = program.app.recorder
        self.channel: str = getattr(recorder, "channel_name", "")

    def _runners(self) -> dict[str, Any]:
        consumers = self.program.consumers
        tasks = {
            f"task:{name}": _TaskRunner(self.program, name) for name in self.program.tasks.tasks
        }
        return {**consumers.views, **consumers.integrations, **tasks}

    def _claim(self, locks: Any) -> None:
        # The locks held are those of the session: if it ended, so did they (this raises).
        locks.execute("SELECT 1")
        for name in self._runners():
            if name in self.held:
                continue
            row = locks.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, lock_key(name, self.schema))
            ).fetchone()
            if row is not None and row[0]:
                self.held.add(name)
                logger.info("worker claimed consumer %s", name)
                if self.on_claim is not None:
                    self.on_claim(name)

    def _run_held(self) -> None:
        runners = self._runners()
        for name in sorted(self.held):
            try:
                runners[name].catch_up()
            except Exception:
                logger.exception("consumer %s could not catch up", name)

    def run(self) -> None:
        """Work until `stop` is called: claim consumers, run them, wait for new events."""
        if self.postgres:
            self._run_postgres()
        else:
            self._run_sqlite()

    def _run_sqlite(self) -> None:
        lock_path = Path(f"{self.sqlite_path}.worker.lock")
        with lock_path.open("a") as lock_file:
            while not self.stopping.is_set():
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self.stopping.wait(self.claim_interval)
                    continue
                break
            else:
                return
            for name in self._runners():
                self.held.add(name)
                if self.on_claim is not None:
                    self.on_claim(name)
            seen, next_round = -1, 0.0
            while not self.stopping.is_set():
                head = self.program.app.recorder.max_notification_id() or 0
                if head != seen or time.monotonic() >= next_round:
                    self._run_held()
                    seen, next_round = head, time.monotonic() + self.claim_interval
                self.stopping.wait(self.poll_interval)
            self.held.clear()

    def _run_postgres(self) -> None:
        import psycopg
        from psycopg import sql

        with (
            psycopg.connect(self.conninfo, autocommit=True) as locks,
            psycopg.connect(self.conninfo, autocommit=True) as listener,
        ):
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            while not self.stopping.is_set():
                self._claim(locks)
                self._run_held()
                # Wait for a commit's NOTIFY, or the next claiming round.
                for _ in listener.notifies(timeout=self.claim_interval, stop_after=1):
                    pass
            self.held.clear()

    def stop(self) -> None:
        """Ask `run` to return after the current round (locks are released on return)."""
        self.stopping.set()
