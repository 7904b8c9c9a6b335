"""Test consumers and the plugin that provides them, for the runner and worker tests.

* `LedgerView` keeps a row per event and a count per event name: an event applied
  twice, or a page committed without its position, shows as a wrong count.
* `Slowed` wraps any view so that its ``apply`` takes a little time (after a first
  page at full speed): a process can then be killed in the middle of a catch-up.
* `FailingView` raises on every event.
* `RecordingIntegration` appends one JSON line per delivery (process id, idempotency
  key, position) to a file of its process in a directory, so the deliveries of several
  processes and restarts can be compared; it can pause, after its side effect and
  before returning, at one position, so that a test can kill it with that event in
  flight.
* `TestConsumers` is the plugin: pass it to ``open_program(plugins=[...])``.

Used by the tests (loaded from this directory) and by the scripts beside it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rotation_domain.consumers import Envelope, Integration, Rows, View, key_for
from rotation_domain.hookspecs import hookimpl

LEDGER = "test_ledger"
FAILING = "test_failing"
RECORDER = "test_recorder"
PAUSED = "paused"
"""The file `RecordingIntegration` writes (with its process id) when it pauses."""


class LedgerView:
    """A row per event (its name, aggregate and version) and a count per event name."""

    name = LEDGER
    version = 1
    topics: frozenset[str] = frozenset()

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        rows.put(
            key_for("event", envelope.position),
            {
                "event": envelope.name,
                "originator": str(envelope.originator_id),
                "version": envelope.originator_version,
            },
        )
        for counter in (key_for("count", envelope.name), "total"):
            doc = rows.get(counter) or {"n": 0}
            rows.put(counter, {"n": doc["n"] + 1})


class Slowed:
    """A view that applies events as ``view`` does, sleeping ``delay`` seconds before each.

    The first ``fast_first`` events it applies go at full speed: a runner then commits
    its first page at once and spends a long time on the next one, so a test can kill it
    with some pages committed and the rest in progress. With ``in_place`` it is rebuilt
    in place when ``view`` is.
    """

    def __init__(
        self,
        view: View,
        delay: float,
        *,
        fast_first: int = 0,
        fast_until: int | None = None,
        in_place: bool = False,
    ) -> None:
        self.view = view
        # Only a view that keeps the promise of `rotation_domain.rebuild` may pass it on.
        self.rebuilds_in_place = in_place and bool(getattr(view, "rebuilds_in_place", False))
        self.delay = delay
        self.fast_first = fast_first
        self.fast_until = fast_until
        """When given: events up to this log position go at full speed, later ones slowly
        (whatever share of each page this view wants), instead of its first N events."""
        self.applied = 0
        self.name = view.name
        self.version = view.version
        self.topics = view.topics
        self.max_attempts = int(getattr(view, "max_attempts", 1))

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        if self.fast_until is not None:
            slow = envelope.position > self.fast_until
        else:
            slow = self.applied >= self.fast_first
        if slow:
            time.sleep(self.delay)
        self.applied += 1
        self.view.apply(envelope, rows)


class FailingView:
    """A view whose ``apply`` raises on every event (parked at once: one attempt)."""

    name = FAILING
    version = 1
    topics: frozenset[str] = frozenset()

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        raise RuntimeError(f"this view cannot fold event {envelope.position}")


class RecordingIntegration:
    """Appends ``{"pid", "key", "position"}`` per delivery to ``deliveries-<pid>.jsonl``.

    Args:
        directory: Where the files of every process go.
        delay: Seconds each delivery takes after its side effect.
        pause_at: A position at which, after its side effect, the delivery writes the
            `PAUSED` file and then waits (for a kill) instead of returning.
        fail_once_at: A position whose first attempt (in this process) writes the file
            ``failed-<position>`` and raises, before any side effect: it is retried
            after the backoff.
    """

    name = RECORDER
    topics: frozenset[str] = frozenset()
    max_attempts = 3

    def __init__(
        self,
        directory: Path,
        *,
        delay: float = 0.0,
        pause_at: int | None = None,
        fail_once_at: int | None = None,
    ) -> None:
        self.directory = directory
        self.delay = delay
        self.pause_at = pause_at
        self.fail_once_at = fail_once_at

    def deliver(self, envelope: Envelope, idempotency_key: str) -> None:
        if envelope.position == self.fail_once_at:
            self.fail_once_at = None
            (self.directory / f"failed-{envelope.position}").write_text(str(os.getpid()))
            raise ConnectionError(f"the receiver is down for event {envelope.position}")
        line = {"pid": os.getpid(), "key": idempotency_key, "position": envelope.position}
        with (self.directory / f"deliveries-{os.getpid()}.jsonl").open("a") as log:
            log.write(json.dumps(line) + "\n")
        if self.delay:
            time.sleep(self.delay)
        if envelope.position == self.pause_at:
            (self.directory / PAUSED).write_text(str(os.getpid()))
            time.sleep(600)


def read_deliveries(directory: Path) -> list[dict[str, Any]]:
    """Every delivery recorded in ``directory``, process by process, in delivery order."""
    found: list[dict[str, Any]] = []
    for path in sorted(directory.glob("deliveries-*.jsonl")):
        found.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return found


class TestConsumers:
    """A plugin providing the given views and integrations."""

    __test__ = False  # not a test class, whatever its name

    def __init__(
        self,
        views: Sequence[View] = (),
        integrations: Sequence[Integration] = (),
        *,
        name: str = "test_consumers",
    ) -> None:
        self.name = name
        self.views = list(views)
        self.integrations = list(integrations)

    @hookimpl
    def rotation_views(self, settings: Mapping[str, str]) -> Sequence[View]:
        return self.views

    @hookimpl
    def rotation_integrations(self, settings: Mapping[str, str]) -> Sequence[Integration]:
        return self.integrations
