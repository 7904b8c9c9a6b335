"""Views brought up to date right after a command, from the events the command recorded.

In embedded mode (memory, SQLite) every command is followed by a catch-up of the
views. The general catch-up (`runners.catch_up_views`) reads where each view stands,
reads the new events back from the log, and starts each view's row cache empty. After
a command, all of that is already known in this process: the views stood where the
previous catch-up left them, and the command's own recordings are the next events of
the log. `InlineViews` keeps that knowledge between commands and folds the recordings
(as a replay reads them back: see `_envelope`) into the views, then
commits rows and positions in one transaction whose position check proves the
knowledge was right.

The commit is grouped: the folded rows stay in this process (where a read of the
views sees them: every read commits first) for at most ``commit_delay`` seconds or
`COMMIT_EVERY` events, then one transaction commits the rows of every command since
(ADR 0009). A second transaction after every command cost SQLite about a fifth of a
command. Rows and positions still move together, so a process that dies before its
commit leaves the views where they were, and the next catch-up folds those events
again from the log: exactly once either way.

Whenever it cannot prove it (another process wrote events in between, another runner
moved a view, a view stopped on a failing event), it falls back to the general
catch-up and starts knowing again from what that left.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Recording

from rotation_domain.consumers import ConsumerStore, Envelope, PositionConflict, ViewCommit
from rotation_domain.runners import (
    CachedRows,
    OverlayRows,
    ViewRunner,
    catch_up_views,
    envelope_of,
)
from rotation_domain.withholding import opened_per_topic

__all__ = [
    "COMMIT_EVERY",
    "DEFAULT_COMMIT_DELAY",
    "INLINE_ROW_CACHE_LIMIT",
    "MAX_COMMIT_DELAY",
    "InlineViews",
]

logger = logging.getLogger(__name__)

INLINE_ROW_CACHE_LIMIT = 20_000
"""Rows each view keeps in memory between commands; past it, the older half is forgotten."""
DEFAULT_COMMIT_DELAY = 0.1
"""Seconds folded rows may wait for their commit (``ROTATION_VIEWS_COMMIT_DELAY``)."""
MAX_COMMIT_DELAY = 60.0
"""The longest commit delay a program accepts."""
COMMIT_EVERY = 1_000
"""Events folded since the last commit that make the next command commit at once."""


class InlineViews:
    """Every view of a program, kept up to date after each of its commands."""

    def __init__(
        self,
        app: Application[Any],
        store: ConsumerStore,
        runners: Sequence[ViewRunner],
        *,
        commit_delay: float = DEFAULT_COMMIT_DELAY,
    ) -> None:
        """Keep ``runners``' views up to date; commit within ``commit_delay`` seconds (0: now)."""
        if not 0 <= commit_delay <= MAX_COMMIT_DELAY:
            msg = (
                f"the views' commit delay must be from 0 to {MAX_COMMIT_DELAY:g} seconds,"
                f" got {commit_delay}"
            )
            raise ValueError(msg)
        self.app = app
        self.store = store
        self.commit_delay = commit_delay
        self.runners = list(runners)
        self._wanting: dict[str, list[ViewRunner]] = {}
        self._every_topic = [r for r in self.runners if not r.view.topics]
        for runner in self.runners:
            for topic in runner.view.topics:
                self._wanting.setdefault(topic, []).append(runner)
        self._opened, self._opened_otherwise = opened_per_topic(r.view for r in self.runners)
        self._at: int | None = None
        """The position every view is known to stand at, or None when not known."""
        self._caches: dict[str, CachedRows] = {}
        self._lock = threading.RLock()
        self._pending: dict[str, OverlayRows] | None = None
        """Rows folded and not committed yet, per view; the store holds ``_committed``."""
        self._committed = 0
        self._pending_events = 0
        self._pending_since = 0.0
        self._timer: threading.Timer | None = None

    def catch_up(self) -> None:
        """Bring every view to the head of the log the general way, then know where they are."""
        with self._lock:
            self._catch_up()

    def _catch_up(self) -> None:
        with contextlib.suppress(PositionConflict):  # dropped: the catch-up folds them again
            self._commit_pending()
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
        """Stop claiming to know where the views stand (the next command catches up fully).

        Rows folded and not committed are dropped: the views' positions have not moved,
        so the next catch-up folds those events again.
        """
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._drop_pending()
        self._at = None
        self._caches = {}

    def commit(self) -> None:
        """Commit the rows folded since the last commit, now (nothing when there are none).

        Called before the views are read, before their status is reported and when the
        program closes. When another runner moved a view meanwhile, the rows are dropped
        and the views catch up from the log instead; any other failure is logged and the
        rows dropped, and the next command catches up from the log.
        """
        with self._lock:
            try:
                self._commit_pending()
            except PositionConflict:
                logger.info("a view was moved by another runner; catching up from the log")
                self._forget()
                try:  # so that a read after this still sees every command before it
                    self._catch_up()
                except Exception:
                    logger.exception("the views could not catch up")
                    self._forget()
            except Exception:
                logger.exception("the views' rows could not be committed; catching up later")
                self._forget()

    def close(self) -> None:
        """Commit what is folded and stop the commit timer."""
        self.commit()
        with self._lock:
            self._cancel_timer()

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
        """Fold the recordings into every view, on top of the rows not committed yet.

        A view stopped by a failing event (one to be tried again) is committed up to
        the event before it, as the general catch-up does, and the next command
        catches up the general way, which tries the event again.
        """
        head = recordings[-1].notification.id
        if self._pending is None:
            self._pending = {name: OverlayRows(cache) for name, cache in self._caches.items()}
            self._committed = at
            self._pending_since = time.monotonic()
        overlays = self._pending
        stopped: dict[str, int] = {}
        new_ids = _new_ids(recordings)
        for cache in self._caches.values():
            cache.new_ids = new_ids
        try:
            self._fold_each(at, recordings, overlays, stopped)
        finally:
            for cache in self._caches.values():
                cache.new_ids = ()
        self._at = head
        self._pending_events += len(recordings)
        if stopped:
            self._commit_pending(stopped)
            self._at = None
        elif (
            self.commit_delay == 0
            or self._pending_events >= COMMIT_EVERY
            or time.monotonic() - self._pending_since >= self.commit_delay
        ):
            self._commit_pending()
        elif self._timer is None:
            self._timer = threading.Timer(self.commit_delay, self._commit_later)
            self._timer.daemon = True
            self._timer.start()

    def _fold_each(
        self,
        at: int,
        recordings: Sequence[Recording[Any]],
        overlays: dict[str, OverlayRows],
        stopped: dict[str, int],
    ) -> None:
        """Fold each recording into the views that want it; note where a view stopped."""
        previous = at
        read_back = getattr(self.app.mapper, _READ_BACK, None)
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
                    opened = self._opened.get(notification.topic, self._opened_otherwise)
                    envelope = _envelope(self.app, recording, opened, read_back)
                if not runner.fold(envelope, notification.id, overlays[name], {}):
                    stopped[name] = previous
            previous = notification.id

    def _commit_later(self) -> None:
        """The timer's commit, in its own thread."""
        with self._lock:
            self._timer = None
        self.commit()

    def _commit_pending(self, stopped: dict[str, int] | None = None) -> None:
        """Commit the folded rows and move each view to ``_at`` (or where it stopped).

        Raises:
            PositionConflict: another runner moved a view meanwhile; the rows are dropped.
        """
        self._cancel_timer()
        overlays, at = self._pending, self._at
        if overlays is None:
            return
        if at is None:  # not known where the folds lead: drop them, the catch-up redoes them
            self._drop_pending()
            return
        base = self._committed
        last = {name: (stopped or {}).get(name, at) for name in overlays}
        try:
            self.store.commit_views(
                [
                    ViewCommit(
                        runner.name,
                        runner.view.version,
                        {runner.name: overlays[runner.name].changes},
                        base,
                        last[runner.name],
                    )
                    for runner in self.runners
                    if last[runner.name] != base
                ]
            )
        except BaseException:
            self._drop_pending()
            self._at = None
            raise
        for name, overlay in overlays.items():
            self._caches[name].committed(overlay.changes)
        self._pending = None
        self._pending_events = 0

    def _drop_pending(self) -> None:
        self._cancel_timer()
        self._pending = None
        self._pending_events = 0

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _new_ids(recordings: Sequence[Recording[Any]]) -> tuple[str, ...]:
    """The ids of aggregates the recordings create with a random id (``uuid4``).

    No event before these can name such an id, so no committed row's key holds one:
    a view reading a row keyed by it (a new rotation's document, say) finds nothing
    without asking the store. Ids derived from a name (``uuid5``: employees, months)
    may have been named before their aggregate exists, so they are not counted.
    """
    return tuple(
        str(event.originator_id)
        for event in (recording.domain_event for recording in recordings)
        if event.originator_version == 1
        and isinstance(event.originator_id, UUID)
        and event.originator_id.version == 4
    )


def _envelope(
    app: Application[Any],
    recording: Recording[Any],
    opened: frozenset[str] | None,
    read_back: Callable[[Any, frozenset[str] | None], Any] | None,
) -> Envelope | BaseException:
    """The envelope of a recorded event, or the error decoding it (the view parks it).

    The event is the one the command recorded, as the mapper would read it back
    (``as_read_back``), when the mapper can tell without the round trip; else it is
    decoded from its stored form, as a replay does.
    """
    notification = recording.notification
    event = None if read_back is None else read_back(recording.domain_event, opened)
    if event is None:
        try:
            return envelope_of(app, notification, opened)
        except Exception as error:  # noqa: BLE001 - a bad stored event is parked, as in a replay
            return error
    return Envelope(
        notification.id, notification.topic, event.originator_id, event.originator_version, event
    )


_READ_BACK = "as_read_back"
