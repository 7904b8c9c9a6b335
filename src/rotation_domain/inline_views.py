"""Views brought up to date right after a command, from the events the command recorded.

In embedded mode (memory, SQLite) every command is followed by a catch-up of the
views. The general catch-up (`runners.catch_up_views`) reads where each view stands,
reads the new events back from the log, and starts each view's row cache empty. After
a command, all of that is already known in this process: the views stood where the
previous catch-up left them, and the command's own recordings are the next events of
the log. `InlineViews` keeps that knowledge between commands and folds the recordings
(decoded from their stored form, exactly as a replay sees them) into the views, then
commits rows and positions in one transaction whose position check proves the
knowledge was right.

Whenever it cannot prove it (another process wrote events in between, another runner
moved a view, a view stopped on a failing event), it falls back to the general
catch-up and starts knowing again from what that left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Recording

from rotation_domain.consumers import ConsumerStore, Envelope, PositionConflict, ViewCommit
from rotation_domain.runners import (
    CachedRows,
    OverlayRows,
    ViewRunner,
    catch_up_views,
    envelope_of,
)

__all__ = ["INLINE_ROW_CACHE_LIMIT", "InlineViews"]

logger = logging.getLogger(__name__)

INLINE_ROW_CACHE_LIMIT = 20_000
"""Rows each view keeps in memory between commands; past it, the older half is forgotten."""


class InlineViews:
    """Every view of a program, kept up to date after each of its commands."""

    def __init__(
        self, app: Application[Any], store: ConsumerStore, runners: Sequence[ViewRunner]
    ) -> None:
        self.app = app
        self.store = store
        self.runners = list(runners)
        self._wanting: dict[str, list[ViewRunner]] = {}
        self._every_topic = [r for r in self.runners if not r.view.topics]
        for runner in self.runners:
            for topic in runner.view.topics:
                self._wanting.setdefault(topic, []).append(runner)
        self._at: int | None = None
        """The position every view is known to stand at, or None when not known."""
        self._caches: dict[str, CachedRows] = {}
        self._lock = threading.RLock()

    def catch_up(self) -> None:
        """Bring every view to the head of the log the general way, then know where they are."""
        with self._lock:
            self._catch_up()

    def _catch_up(self) -> None:
        self._at = None
        catch_up_views(self.app, self.store, self.runners)
        positions = self.store.positions()
        at = {positions.get(runner.name, 0) for runner in self.runners}
        if len(at) == 1:
            (self._at,) = at
            self._caches = {
                runner.name: CachedRows(
                    self.store.reader(runner.name),
                    empty=self._at == 0,
                    limit=INLINE_ROW_CACHE_LIMIT,
                )
                for runner in self.runners
            }

    def forget(self) -> None:
        """Stop claiming to know where the views stand (the next command catches up fully)."""
        with self._lock:
            self._at = None
            self._caches = {}

    def after_command(self, recordings: Sequence[Recording[Any]]) -> None:
        """Fold a command's recordings into the views, or catch up the general way."""
        with self._lock:  # a host thread may read views (on-read catch-up) meanwhile
            self._after_command(recordings)

    def _after_command(self, recordings: Sequence[Recording[Any]]) -> None:
        if not self.runners:
            return
        ids = [r.notification.id for r in recordings if r.notification is not None]
        if not ids:
            return
        at = self._at
        if (
            at is None
            or ids[0] != at + 1
            or ids[-1] - ids[0] + 1 != len(ids)
            or len(ids) != len(recordings)
        ):
            self._catch_up()
            return
        try:
            self._fold(at, recordings)
        except PositionConflict:
            logger.info("a view was moved by another runner; catching up again")
            self._catch_up()

    def _fold(self, at: int, recordings: Sequence[Recording[Any]]) -> None:
        """Fold the recordings into every view and commit rows and positions together.

        A view stopped by a failing event (one to be tried again) is committed up to
        the event before it, as the general catch-up does, and the next command
        catches up the general way, which tries the event again.
        """
        head = recordings[-1].notification.id
        overlays = {name: OverlayRows(cache) for name, cache in self._caches.items()}
        last = dict.fromkeys(overlays, head)
        stopped: set[str] = set()
        previous = at
        for recording in recordings:
            notification = recording.notification
            wanting = self._wanting.get(notification.topic, [])
            if self._every_topic:
                wanting = [*wanting, *self._every_topic]
            envelope: Envelope | BaseException | None = None
            for runner in wanting:
                name = runner.name
                if name in stopped:
                    continue
                if envelope is None:
                    envelope = _envelope(self.app, notification)
                if not runner.fold(envelope, notification.id, overlays[name], {}):
                    stopped.add(name)
                    last[name] = previous
            previous = notification.id
        self.store.commit_views(
            [
                ViewCommit(
                    runner.name,
                    runner.view.version,
                    {runner.name: overlays[runner.name].changes},
                    at,
                    last[runner.name],
                )
                for runner in self.runners
                if last[runner.name] != at
            ]
        )
        for name, overlay in overlays.items():
            self._caches[name].committed(overlay.changes)
        self._at = None if stopped else head


def _envelope(app: Application[Any], notification: Notification) -> Envelope | BaseException:
    """The envelope of a recorded event, or the error decoding it (the view parks it)."""
    try:
        return envelope_of(app, notification)
    except Exception as error:  # noqa: BLE001 - a bad stored event is parked, as in a replay
        return error
