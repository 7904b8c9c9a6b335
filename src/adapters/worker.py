"""``rotation worker``: run the program's consumers in server mode (PostgreSQL).

Each consumer (view or integration) is held by exactly one worker at a time through a
PostgreSQL session-level advisory lock. A worker that dies loses its connection, the
server releases its locks, and another worker takes the consumers over at its next
round (every ``claim_interval`` seconds). Live events arrive by LISTEN/NOTIFY on the
events table's channel, so a worker wakes as soon as a command commits.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from rotation_domain import RotationProgram

__all__ = ["Worker", "lock_key"]

logger = logging.getLogger(__name__)

_LOCK_CLASS = 0x726F74  # "rot": the first of the two advisory-lock keys


def lock_key(consumer: str) -> int:
    """The advisory-lock key of a consumer (a stable 31-bit number from its name)."""
    return zlib.crc32(consumer.encode()) & 0x7FFFFFFF


def conninfo_of(settings: dict[str, str]) -> str:
    """A libpq connection string from the eventsourcing PostgreSQL settings."""
    return psycopg.conninfo.make_conninfo(
        host=settings["POSTGRES_HOST"],
        port=settings.get("POSTGRES_PORT", "5432"),
        user=settings.get("POSTGRES_USER", "postgres"),
        password=settings.get("POSTGRES_PASSWORD", ""),
        dbname=settings["POSTGRES_DBNAME"],
    )


class Worker:
    """Claims consumers with advisory locks and runs them as events arrive."""

    def __init__(
        self,
        program: RotationProgram,
        *,
        claim_interval: float = 1.0,
        on_claim: Callable[[str], None] | None = None,
    ) -> None:
        settings = dict(program.app.env.items()) if hasattr(program.app.env, "items") else {}
        if settings.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
            raise ValueError("rotation worker runs on a PostgreSQL store (postgresql://...)")
        self.program = program
        self.conninfo = conninfo_of(settings)
        self.claim_interval = claim_interval
        self.on_claim = on_claim
        self.held: set[str] = set()
        self.stopping = threading.Event()
        recorder: Any = program.app.recorder
        self.channel: str = recorder.channel_name

    def _runners(self) -> dict[str, Any]:
        consumers = self.program.consumers
        return {**consumers.views, **consumers.integrations}

    def _claim(self, locks: psycopg.Connection[Any]) -> None:
        for name in self._runners():
            if name in self.held:
                continue
            row = locks.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, lock_key(name))
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
        """Work until `stop` is called: claim consumers, run them, wait for NOTIFY."""
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
