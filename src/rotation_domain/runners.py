"""Runners: move each consumer along the log from its own tracked position.

A `ViewRunner` folds a page of events into its view and commits the rows with the new
position in one transaction. An `IntegrationRunner` delivers one event at a time and
moves its position after each, so a crash repeats at most the event in flight (with
the same idempotency key). Failures are isolated: a consumer that raises is retried
or has the event parked, and the others go on.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from rotation_domain import gc_pause
from rotation_domain.consumers import (
    ConsumerStore,
    Delivery,
    Doc,
    Envelope,
    Integration,
    PositionConflict,
    RowsReader,
    View,
    ViewCommit,
    scan_over,
)
from rotation_domain.log_pages import (
    READ_PAGE_SIZE,
    Progress,
    envelope_of,
    notifications_after,
)
from rotation_domain.rebuild import rebuild_in_place, rebuilds_in_place
from rotation_domain.withholding import opened_per_topic

__all__ = [
    "PAGE_SIZE",
    "READ_PAGE_SIZE",
    "REBUILD_PAGE_SIZE",
    "CachedRows",
    "IntegrationRunner",
    "OverlayRows",
    "Progress",
    "ViewRunner",
    "catch_up_views",
    "envelope_of",
    "notifications_after",
]

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
"""Events a view catch-up folds and commits per transaction."""
REBUILD_PAGE_SIZE = 50_000
"""Events per transaction while views are rebuilt from zero.

Fewer, larger commits: a summary row that many events change (a department's, a
mentor's counters) is written once a page, and a rebuild of 100,000 events ran about
a fifth faster with pages of 5,000 than of 500. In a large log each commit writes the
B-tree pages its rows fall on, spread over the whole table, and commits got dearer as
the table grew (at 300,000 events, 58 ms a COMMIT of 5,000 events: half the time spent
committing); pages of 50,000 made that rebuild 12-15% faster for
about 70 MiB more memory. A rebuild that dies redoes at most one page.
"""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


_ABSENT: Any = object()


class OverlayRows:
    """A view's rows as seen inside a page: committed rows with the page's changes on top.

    Changes are journaled per event (`begin`), so a failing event's partial changes are
    undone (`undo`) without copying the page's changes for every event. ``below`` must
    hand out a new document at each `get` (as `CachedRows` does): `edit` passes it on.
    """

    def __init__(self, below: RowsReader) -> None:
        self.below = below
        self.changes: dict[str, Doc | None] = {}
        self._journal: dict[str, Any] = {}

    def get(self, key: str) -> Doc | None:
        """The page's document under ``key`` (shared: do not change it), or the committed one."""
        changes = self.changes
        if key in changes:
            return changes[key]
        return self.below.get(key)

    def edit(self, key: str) -> Doc:
        """The document under ``key`` (a new empty one when absent), to change and put back.

        It is the caller's own: a document this event already put is handed out itself; a
        committed one comes as the new copy ``below`` reads (`CachedRows` decodes one at
        each read); one an earlier event of the page changed is copied, since undoing this
        event must give it back as it was.
        """
        changes = self.changes
        if key in changes:
            doc = changes[key]
            if doc is None:
                return {}
            journal = self._journal
            if key in journal and journal[key] is not doc:  # put by this event: its own
                return doc
            copy_: Doc = orjson.loads(orjson.dumps(doc))
            return copy_
        found = self.below.get(key)
        return {} if found is None else found

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """The committed rows with the page's changes on top, ordered by key."""
        return scan_over(self.below.scan(prefix), self.changes, prefix)

    def put(self, key: str, doc: Doc) -> None:
        """Set the document under ``key`` for this page."""
        if key not in self._journal:
            self._journal[key] = self.changes.get(key, _ABSENT)
        self.changes[key] = doc

    def delete(self, key: str) -> None:
        """Delete the row under ``key`` for this page."""
        if key not in self._journal:
            self._journal[key] = self.changes.get(key, _ABSENT)
        self.changes[key] = None

    def begin(self) -> None:
        """Start journaling one event's changes."""
        if self._journal:
            self._journal = {}

    def undo(self) -> None:
        """Take back the changes made since `begin`."""
        for key, previous in self._journal.items():
            if previous is _ABSENT:
                del self.changes[key]
            else:
                self.changes[key] = previous
        self._journal = {}


ROW_CACHE_LIMIT = 400_000
"""Rows a view keeps in memory during one catch-up; past it, the older half is forgotten."""


class CachedRows:
    """A view's committed rows as one catch-up knows them: read once, then from memory.

    The rows a catch-up reads or commits are remembered, so a rebuild reads each row
    from the store at most once, and a view that starts from nothing (position 0: it
    has never committed, so it has no rows) reads none at all. Rows are kept as JSON
    text: compact, and invisible to the garbage collector however many there are. (Not
    as the bytes orjson returns: each of those keeps a buffer of about 4 KiB whatever
    its length, which took a rebuild of a million events to 1.9 GiB.)
    Past `ROW_CACHE_LIMIT` rows it forgets the older half (the rows of things long done,
    mostly) and reads those again when they are needed, so memory stays bounded.
    """

    def __init__(self, below: RowsReader, *, empty: bool, limit: int | None = None) -> None:
        self.below = below
        self.complete = empty
        self.limit = ROW_CACHE_LIMIT if limit is None else limit
        self.rows: dict[str, str | None] = {}
        self.new_ids: tuple[str, ...] = ()
        """Ids no committed row can name yet: a key holding one is absent, without a read."""

    def get(self, key: str) -> Doc | None:
        """A new copy of the committed document under ``key``, or None."""
        try:
            found = self.rows[key]
        except KeyError:
            if self.complete or (self.new_ids and any(i in key for i in self.new_ids)):
                doc = None
            else:
                doc = self.below.get(key)
            self.rows[key] = None if doc is None else orjson.dumps(doc).decode()
            return doc
        if found is None:
            return None
        doc_: Doc = orjson.loads(found)
        return doc_

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """The committed rows whose keys start with ``prefix``, read from the store."""
        return self.below.scan(prefix)  # the store holds what this cache holds, and more

    def committed(self, changes: dict[str, Doc | None]) -> None:
        """Remember a page's changes once they are committed."""
        if len(self.rows) + len(changes) > self.limit:
            older = list(itertools.islice(self.rows, len(self.rows) // 2))
            for key in older:
                del self.rows[key]
            self.complete = False
        dumps, rows = orjson.dumps, self.rows
        for key, doc in changes.items():
            rows.pop(key, None)  # to the end: the rows written last are forgotten last
            rows[key] = None if doc is None else dumps(doc).decode()


class _Runner:
    """What view and integration runners share: the log, the store, the failures."""

    consumer: View | Integration

    def __init__(self, app: Application[Any], store: ConsumerStore) -> None:
        self.app = app
        self.store = store

    @property
    def name(self) -> str:
        """The consumer's name, which is also its position's name."""
        return self.consumer.name

    def _page(self, after: int, limit: int = PAGE_SIZE) -> list[Notification]:
        topics = sorted(self.consumer.topics)
        return list(
            self.app.recorder.select_notifications(
                start=after, limit=limit, topics=topics, inclusive_of_start=False
            )
        )


class ViewRunner(_Runner):
    """Keeps one view up to date, a page per transaction, exactly once."""

    def __init__(self, app: Application[Any], store: ConsumerStore, view: View) -> None:
        super().__init__(app, store)
        self.consumer = view
        self.view = view

    def check_version(self) -> None:
        """Drop the view's rows when they were built by another version of the view."""
        stored_version = self.store.view_version(self.name)
        if stored_version is not None and stored_version != self.view.version:
            logger.info("view %s changed version; rebuilding it", self.name)
            self.store.reset_view(self.name, [self.name])

    def catch_up(self, progress: Progress | None = None) -> int:
        """Process every event after the view's position; return how many were applied."""
        return catch_up_views(self.app, self.store, [self], progress)

    def fold(
        self,
        envelope: Envelope | BaseException,
        position: int,
        rows: OverlayRows,
        failures: dict[int, Delivery],
    ) -> bool:
        """Apply one event on top of the page; False when the view must stop before it.

        A failing event is retried at the next catch-up until the view's
        ``max_attempts`` (default 1), then parked and passed over.
        """
        rows.begin()
        try:
            if isinstance(envelope, BaseException):
                raise envelope
            self.view.apply(envelope, rows)
        except Exception as error:  # noqa: BLE001 - a failing view never stops the others
            rows.undo()
            return self._failed(position, error, failures.get(position))
        if failures and position in failures:
            self.store.clear_failure(self.name, position)
            del failures[position]
        return True

    def _failed(self, position: int, error: BaseException, previous: Delivery | None) -> bool:
        attempts = (previous.attempts if previous else 0) + 1
        limit = int(getattr(self.view, "max_attempts", 1))
        parked = attempts >= limit
        logger.warning(
            "view %s failed on event %d (attempt %d): %s", self.name, position, attempts, error
        )
        self.store.record_failure(
            Delivery(
                self.name, position, attempts, "parked" if parked else "retrying", _describe(error)
            )
        )
        return parked


def catch_up_views(
    app: Application[Any],
    store: ConsumerStore,
    runners: list[ViewRunner],
    progress: Progress | None = None,
    *,
    page_size: int = PAGE_SIZE,
) -> int:
    """Bring several views up to the head of the log in one pass over it.

    Each page of events (``page_size`` of them, read `READ_PAGE_SIZE` at a time) is
    mapped once, folded into every view that asks for its topics, and all the views'
    rows and positions are committed in one transaction. A view that needs none of the
    events read still moves to the head, so its lag is only what it has left to do.
    Views at position 0 that allow it are first rebuilt in place, together
    (`rotation_domain.rebuild`); those that raise there come back to this way.
    Returns the number of events read.
    """
    if not runners:
        return 0
    for runner in runners:
        runner.check_version()
    failures = {r.name: {f.position: f for f in store.failures(r.name)} for r in runners}
    done = 0
    stored = store.positions()
    from_zero = [
        r
        for r in runners
        if not stored.get(r.name)
        and not failures[r.name]
        and r.view.topics
        and rebuilds_in_place(r)
    ]
    if from_zero:  # rebuilt with their documents in memory (rotation_domain.rebuild)
        done, again = rebuild_in_place(app, store, from_zero, progress, page_size=page_size)
        runners = [r for r in runners if r not in from_zero or r in again]
        if not runners:
            return done
    every_topic = [runner for runner in runners if not runner.view.topics]
    topics = [] if every_topic else sorted(set().union(*(r.view.topics for r in runners)))
    total = (app.recorder.max_notification_id() or 0) if progress is not None else 0
    # A view stopped by a failing event waits for the next catch-up to try it again.
    active = list(runners)
    stored = store.positions()
    caches = {
        r.name: CachedRows(store.reader(r.name), empty=not stored.get(r.name)) for r in active
    }
    while True:
        with gc_pause.paused():  # a page's documents are not garbage (ADR 0011)
            head = app.recorder.max_notification_id() or 0
            stored = store.positions()
            positions = {runner.name: stored.get(runner.name, 0) for runner in active}
            start = min(positions.values())
            overlays = {runner.name: OverlayRows(caches[runner.name]) for runner in active}
            last = dict(positions)
            stopped: set[str] = set()
            # Which views each topic goes to; views that ask for every topic get them all.
            wanting: dict[str, list[ViewRunner]] = {}
            for runner in active:
                for wanted in runner.view.topics:
                    wanting.setdefault(wanted, []).append(runner)
            every = [runner for runner in active if not runner.view.topics]
            opened, opened_otherwise = opened_per_topic(r.view for r in active)
            previous = start
            read = 0
            for notification in notifications_after(app, start, page_size, topics):
                read += 1
                envelope: Envelope | BaseException | None = None
                position = notification.id
                targets = wanting.get(notification.topic, ())
                for runner in [*targets, *every] if every else targets:
                    name = runner.name
                    if position <= positions[name] or name in stopped:
                        continue
                    if envelope is None:
                        try:
                            envelope = envelope_of(
                                app,
                                notification,
                                opened.get(notification.topic, opened_otherwise),
                            )
                        except Exception as error:  # noqa: BLE001 - a bad stored event is parked
                            envelope = error
                    if not runner.fold(envelope, position, overlays[name], failures[name]):
                        stopped.add(name)
                        last[name] = max(positions[name], previous)
                previous = position
                done += 1
            reached_end = read < page_size
            for runner in active:
                if runner.name not in stopped:
                    moved = max(last[runner.name], previous)
                    last[runner.name] = max(moved, head) if reached_end else moved
            commits = [
                ViewCommit(
                    runner.name,
                    runner.view.version,
                    {runner.name: overlays[runner.name].changes},
                    positions[runner.name],
                    last[runner.name],
                )
                for runner in active
                if last[runner.name] != positions[runner.name]
            ]
            if commits:
                try:
                    store.commit_views(commits)
                except PositionConflict:
                    logger.info("a view was moved by another runner; catching up again")
                    active = [runner for runner in active if runner.name not in stopped]
                    if not active:
                        return done
                    caches = {r.name: CachedRows(store.reader(r.name), empty=False) for r in active}
                    continue
                for commit in commits:
                    caches[commit.consumer].committed(overlays[commit.consumer].changes)
            if progress is not None:
                progress(min(total, max(last.values())), total)
            active = [runner for runner in active if runner.name not in stopped]
            if reached_end or not active:
                return done


class IntegrationRunner(_Runner):
    """Delivers events to one integration: at least once, retried with backoff, then parked."""

    def __init__(
        self,
        app: Application[Any],
        store: ConsumerStore,
        integration: Integration,
        *,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 300.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(app, store)
        self.consumer = integration
        self.integration = integration
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.now = now

    def idempotency_key(self, position: int) -> str:
        """The key given with every attempt at the event at ``position``."""
        return f"{self.name}:{position}"

    def catch_up(self) -> int:
        """Deliver due events after the position; return how many were delivered.

        Stops at an event whose next attempt is not due yet, so events are delivered
        in order; an event parked after its last attempt no longer holds the others.
        """
        delivered = 0
        while True:
            head = self.app.recorder.max_notification_id() or 0
            position = self.store.position(self.name)
            page = self._page(position, limit=100)
            if not page:
                if head > position:  # nothing it asked for up to the head: skip ahead
                    with contextlib.suppress(PositionConflict):
                        self.store.advance(self.name, expected=position, position=head)
                return delivered
            failures = {f.position: f for f in self.store.failures(self.name)}
            for notification in page:
                outcome = self._deliver(notification, failures.get(notification.id))
                if outcome is None:
                    return delivered
                try:
                    self.store.advance(self.name, expected=position, position=notification.id)
                except PositionConflict:
                    logger.info("integration %s was moved by another runner", self.name)
                    return delivered
                position = notification.id
                delivered += outcome

    def _deliver(self, notification: Notification, failure: Delivery | None) -> int | None:
        """1 if delivered, 0 if parked now, None if the event must wait for a later attempt."""
        if failure is not None and failure.status == "parked":
            return 0
        due = failure.next_attempt_at if failure is not None else None
        if due is not None and due > self.now():
            return None
        try:
            envelope = envelope_of(self.app, notification)
            self.integration.deliver(envelope, self.idempotency_key(notification.id))
        except Exception as error:  # noqa: BLE001 - a failing integration never stops the others
            attempts = (failure.attempts if failure else 0) + 1
            if attempts >= self.integration.max_attempts:
                logger.warning(
                    "integration %s parked event %d after %d attempts: %s",
                    self.name,
                    notification.id,
                    attempts,
                    error,
                )
                self.store.record_failure(
                    Delivery(self.name, notification.id, attempts, "parked", _describe(error))
                )
                return 0
            delay = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
            logger.warning(
                "integration %s failed on event %d (attempt %d of %d, next in %g s): %s",
                self.name,
                notification.id,
                attempts,
                self.integration.max_attempts,
                delay,
                _describe(error),
            )
            self.store.record_failure(
                Delivery(
                    self.name,
                    notification.id,
                    attempts,
                    "retrying",
                    _describe(error),
                    self.now() + timedelta(seconds=delay),
                )
            )
            return None
        if failure is not None:
            self.store.clear_failure(self.name, notification.id)
        return 1

    def _parked(self, position: int) -> Delivery:
        found = {f.position: f for f in self.store.failures(self.name)}.get(position)
        if found is None or found.status != "parked":
            state = "not failing" if found is None else found.status
            raise LookupError(
                f"integration {self.name} has no parked event at position {position} "
                f"(it is {state})"
            )
        return found

    def retry_parked(self, position: int) -> bool:
        """Deliver a parked event again now; True if it went through (it is then cleared).

        Raises:
            LookupError: the event at ``position`` is not parked.
        """
        self._parked(position)
        notification = self._one(position)
        try:
            self.integration.deliver(
                envelope_of(self.app, notification), self.idempotency_key(position)
            )
        except Exception as error:  # noqa: BLE001 - reported in the failure record
            parked = {f.position: f for f in self.store.failures(self.name)}.get(position)
            attempts = (parked.attempts if parked else 0) + 1
            self.store.record_failure(
                Delivery(self.name, position, attempts, "parked", _describe(error))
            )
            return False
        self.store.clear_failure(self.name, position)
        return True

    def skip_parked(self, position: int) -> None:
        """Give up on a parked event: forget its failure record.

        Raises:
            LookupError: the event at ``position`` is not parked.
        """
        self._parked(position)
        self.store.clear_failure(self.name, position)

    def _one(self, position: int) -> Notification:
        found = self.app.recorder.select_notifications(start=position, limit=1)
        if not found or found[0].id != position:
            raise LookupError(f"no event at position {position}")
        return found[0]
