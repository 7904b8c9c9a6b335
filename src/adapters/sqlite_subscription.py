"""Polling subscriptions for eventsourcing's SQLite application recorder.

Why this module exists: in eventsourcing 9.5.6,
``eventsourcing.sqlite.SQLiteApplicationRecorder.subscribe()`` raises
``NotImplementedError`` (SQLite has no LISTEN/NOTIFY), so eventsourcing's
``ProjectionRunner`` and ``EventSourcedProjectionRunner`` cannot follow an
application whose events are stored in SQLite. This module adds the missing
``subscribe()`` by polling:

* A subscription selects pages of up to 500 notifications after the last one
  it yielded. When it is caught up it waits for the poll interval (default
  0.05 s) and selects again, so writers in other processes are seen at the
  next poll.
* After a recorder of this module commits ``insert_events()``, it wakes the
  live subscriptions of the same recorder object, so events written in-process
  through that recorder are selected at once rather than at the next poll.
* ``stop()`` wakes a waiting subscription, so iteration ends promptly.

Gaps cannot make a subscription skip an event: SQLite has a single writer at a
time and allocates ``rowid`` values (the notification IDs) inside the writing
transaction, so a reader never sees a committed ID above an uncommitted one.

Selecting it by configuration, either keeping eventsourcing's own factory
(``SQLiteFactory`` honours the recorder topics)::

    PERSISTENCE_MODULE=eventsourcing.sqlite
    SQLITE_DBNAME=/path/to/events.db
    APPLICATION_RECORDER_TOPIC=adapters.sqlite_subscription:PollingSQLiteApplicationRecorder
    PROCESS_RECORDER_TOPIC=adapters.sqlite_subscription:PollingSQLiteProcessRecorder

where ``SQLITE_POLL_INTERVAL`` (seconds) can only be read from ``os.environ``,
because ``SQLiteFactory`` does not hand its environment to the recorders; or
using this module's factory, which makes both polling recorders the defaults
and reads ``SQLITE_POLL_INTERVAL`` from the application's environment (so the
application-name prefix, e.g. ``MYAPP_SQLITE_POLL_INTERVAL``, works too)::

    PERSISTENCE_MODULE=adapters.sqlite_subscription
    SQLITE_DBNAME=/path/to/events.db
    SQLITE_POLL_INTERVAL=0.05

The tracking recorder of either factory is eventsourcing's own
``SQLiteTrackingRecorder``, which ``ProjectionRunner`` can already use as a
materialised view: its ``wait()`` polls ``max_tracking_id()``.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final

# The factory's base class is reached through its module, on purpose: a class
# imported by name would be a second factory class in this module, and then
# ``PERSISTENCE_MODULE=adapters.sqlite_subscription`` would be ambiguous.
import eventsourcing.sqlite as es_sqlite
from eventsourcing.persistence import Subscription
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteProcessRecorder

from adapters import sqlite_log_reads
from adapters.sqlite_writer import SQLiteWriter

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from eventsourcing.persistence import (
        ApplicationRecorder,
        Notification,
        ProcessRecorder,
        StoredEvent,
    )
    from eventsourcing.sqlite import SQLiteConnection, SQLiteDatastore
    from eventsourcing.utils import Environment, EnvType

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "SELECT_LIMIT",
    "SQLITE_POLL_INTERVAL",
    "PollingSQLiteApplicationRecorder",
    "PollingSQLiteFactory",
    "PollingSQLiteProcessRecorder",
    "SQLitePollingSubscription",
    "poll_interval_from_env",
]

SQLITE_POLL_INTERVAL: Final = "SQLITE_POLL_INTERVAL"
"""Name of the environment variable holding the poll interval in seconds."""

DEFAULT_POLL_INTERVAL: Final = 0.05
"""Seconds a caught-up subscription waits before selecting again."""

SELECT_LIMIT: Final = 500
"""Number of notifications a subscription selects at a time."""


def _checked_poll_interval(poll_interval: float) -> float:
    if not (math.isfinite(poll_interval) and poll_interval > 0):
        msg = f"The poll interval must be a positive number of seconds, not {poll_interval!r}"
        raise ValueError(msg)
    return float(poll_interval)


def poll_interval_from_env(env: Mapping[str, str]) -> float:
    """Read the poll interval from an environment.

    Args:
        env: Where to look for ``SQLITE_POLL_INTERVAL``: ``os.environ``, or an
            eventsourcing ``Environment``, whose ``get()`` also tries the key
            prefixed with the application's name.

    Returns:
        The configured interval in seconds, or ``DEFAULT_POLL_INTERVAL`` when the
        variable is unset or empty.

    Raises:
        OSError: If the value is not a positive, finite number (eventsourcing's
            factories report bad environment values this way).

    """
    value = (env.get(SQLITE_POLL_INTERVAL) or "").strip()
    if not value:
        return DEFAULT_POLL_INTERVAL
    try:
        return _checked_poll_interval(float(value))
    except ValueError:
        msg = (
            f"SQLite environment value for key '{SQLITE_POLL_INTERVAL}' is invalid. "
            f"If set, a positive number of seconds is expected: '{value}'"
        )
        raise OSError(msg) from None


class SQLitePollingSubscription(Subscription["PollingSQLiteApplicationRecorder"]):
    """Iterator over the notifications of a SQLite application sequence.

    Yields, in order, the notifications with IDs greater than ``gt`` (all of
    them when ``gt`` is None), optionally only those with the given topics. When
    it has yielded every recorded notification it blocks: it waits for the poll
    interval, or less if its recorder commits new events or ``stop()`` is
    called, and selects again. Selecting happens in the iterating thread; no
    thread is started.

    Construct it with ``PollingSQLiteApplicationRecorder.subscribe()``. It can be
    used as a context manager, which calls ``stop()`` on exit.
    """

    def __init__(
        self,
        recorder: PollingSQLiteApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        select_limit: int = SELECT_LIMIT,
    ) -> None:
        """Initialise the subscription.

        Args:
            recorder: The recorder whose application sequence is read.
            gt: Only notifications with IDs greater than this are yielded.
            topics: If not empty, only notifications with these topics are yielded.
            poll_interval: Seconds to wait, when caught up, before selecting again.
            select_limit: Number of notifications selected at a time.

        Raises:
            ValueError: If ``poll_interval`` is not a positive number of seconds.

        """
        super().__init__(recorder=recorder, gt=gt, topics=tuple(topics))
        self._poll_interval = _checked_poll_interval(poll_interval)
        self._select_limit = select_limit
        self._page: Sequence[Notification] = ()
        self._page_index = 0
        # Set by the recorder after it commits new events, and by stop().
        self._wakeup = threading.Event()

    @property
    def poll_interval(self) -> float:
        """Seconds a caught-up subscription waits before selecting again."""
        return self._poll_interval

    def stop(self) -> None:
        """Stop the subscription: iteration ends, also when it is waiting."""
        super().stop()
        self._wakeup.set()
        self._recorder._discard_subscription(self)

    def wake(self) -> None:
        """Select again now, without waiting for the rest of the poll interval."""
        self._wakeup.set()

    def __next__(self) -> Notification:
        while True:
            if self._has_been_stopped:
                raise StopIteration
            if self._page_index < len(self._page):
                notification = self._page[self._page_index]
                self._page_index += 1
                self._last_notification_id = notification.id
                return notification
            # Clear before selecting, so that a wake-up after the select is kept.
            self._wakeup.clear()
            # stop() may have set the event just before it was cleared.
            if self._has_been_stopped:
                raise StopIteration
            page = self._recorder.select_notifications(
                start=self._last_notification_id,
                limit=self._select_limit,
                topics=self._topics,
                inclusive_of_start=False,
            )
            if page:
                self._page = page
                self._page_index = 0
            else:
                self._wakeup.wait(timeout=self._poll_interval)


class PollingSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """SQLite application recorder whose ``subscribe()`` works, by polling.

    Select it with ``APPLICATION_RECORDER_TOPIC=`` this class's topic,
    ``adapters.sqlite_subscription:PollingSQLiteApplicationRecorder``, under
    ``PERSISTENCE_MODULE=eventsourcing.sqlite``, or use ``PollingSQLiteFactory``.
    """

    def __init__(
        self,
        datastore: SQLiteDatastore,
        events_table_name: str = "stored_events",
        *,
        poll_interval: float | None = None,
    ) -> None:
        """Initialise the recorder.

        Args:
            datastore: The SQLite datastore, as for ``SQLiteApplicationRecorder``.
            events_table_name: The table of stored events.
            poll_interval: Seconds a caught-up subscription waits before selecting
                again. If None, ``SQLITE_POLL_INTERVAL`` is read from ``os.environ``,
                falling back to ``DEFAULT_POLL_INTERVAL``.

        Raises:
            ValueError: If ``poll_interval`` is not a positive number of seconds.
            OSError: If ``poll_interval`` is None and ``SQLITE_POLL_INTERVAL`` is
                invalid.

        """
        # By keyword: the process recorder's initialiser takes it only that way.
        super().__init__(datastore, events_table_name=events_table_name)
        self._poll_interval = (
            poll_interval_from_env(os.environ)
            if poll_interval is None
            else _checked_poll_interval(poll_interval)
        )
        self._subscriptions: weakref.WeakSet[SQLitePollingSubscription] = weakref.WeakSet()
        self._subscriptions_lock = threading.Lock()
        self._writer = SQLiteWriter(datastore.pool)
        """The connection inserts run on (`adapters.sqlite_writer`)."""
        weakref.finalize(self, self._writer.close)

    @property
    def poll_interval(self) -> float:
        """Poll interval, in seconds, given to subscriptions started from now on."""
        return self._poll_interval

    @poll_interval.setter
    def poll_interval(self, poll_interval: float) -> None:
        self._poll_interval = _checked_poll_interval(poll_interval)

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> SQLitePollingSubscription:
        """Start a subscription to the application sequence.

        Args:
            gt: Only notifications with IDs greater than this are yielded; None
                means from the start of the sequence.
            topics: If not empty, only notifications with these topics are yielded.

        Returns:
            An iterator that yields the recorded notifications in order, then
            blocks and yields newly recorded ones, until it is stopped.

        """
        subscription = SQLitePollingSubscription(
            recorder=self, gt=gt, topics=topics, poll_interval=self._poll_interval
        )
        with self._subscriptions_lock:
            self._subscriptions.add(subscription)
        return subscription

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The notifications eventsourcing's recorder returns, read with less work a row.

        See `adapters.sqlite_log_reads`.
        """
        return sqlite_log_reads.select_notifications(
            self, start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert stored events, then wake this recorder's live subscriptions.

        Args:
            stored_events: The events to insert in one transaction.
            **kwargs: Passed on (a process recorder takes ``tracking``).

        Returns:
            The notification IDs of the inserted events.

        """
        if self._writer.usable:
            notification_ids = self._writer.run(
                lambda cursor: self._insert_events(cursor, stored_events, **kwargs)
            )
        else:
            notification_ids = super().insert_events(stored_events, **kwargs)
        # The transaction has been committed: the new rows are visible to readers.
        if not self._subscriptions:  # none to wake (one that starts now reads from the log)
            return notification_ids
        with self._subscriptions_lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.wake()
        return notification_ids

    def read_connection(self) -> contextlib.AbstractContextManager[SQLiteConnection]:
        """A connection for a read on the command path, held for the block.

        The inserts' connection while it is usable (see `adapters.sqlite_writer`), else
        one from the datastore's pool. Reads there run in autocommit mode: one statement
        is one read transaction.
        """
        if self._writer.usable:
            return self._writer.connection()
        return self.datastore.get_connection(commit=False)

    def close_writer(self) -> None:
        """Close the connection inserts run on; later inserts go to the datastore's pool."""
        self._writer.close()

    def _discard_subscription(self, subscription: SQLitePollingSubscription) -> None:
        with self._subscriptions_lock:
            self._subscriptions.discard(subscription)


class PollingSQLiteProcessRecorder(PollingSQLiteApplicationRecorder, SQLiteProcessRecorder):
    """SQLite process recorder whose ``subscribe()`` works, by polling.

    An ``EventSourcedProjection`` records its events and tracking with a process
    recorder; use this one when something subscribes to those events. Select it
    with ``PROCESS_RECORDER_TOPIC=adapters.sqlite_subscription:PollingSQLiteProcessRecorder``
    under ``PERSISTENCE_MODULE=eventsourcing.sqlite``, or use ``PollingSQLiteFactory``.
    """


class PollingSQLiteFactory(es_sqlite.SQLiteFactory):
    """SQLite infrastructure factory whose recorders support subscriptions.

    Selected by ``PERSISTENCE_MODULE=adapters.sqlite_subscription`` (or
    ``adapters.sqlite_subscription:PollingSQLiteFactory``). It is eventsourcing's
    ``SQLiteFactory`` configured by the same variables, with the polling recorders
    as default application and process recorders, and with the poll interval read
    from ``SQLITE_POLL_INTERVAL`` in the application's environment.
    """

    SQLITE_POLL_INTERVAL = SQLITE_POLL_INTERVAL

    application_recorder_class = PollingSQLiteApplicationRecorder
    process_recorder_class = PollingSQLiteProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        """Initialise the factory.

        Args:
            env: The environment, as for ``SQLiteFactory``.

        Raises:
            OSError: If ``SQLITE_DBNAME`` is missing or a variable is invalid.

        """
        super().__init__(env)
        self.poll_interval = poll_interval_from_env(self.env)

    def application_recorder(self) -> ApplicationRecorder:
        """Construct the application recorder, with this factory's poll interval.

        Returns:
            A ``PollingSQLiteApplicationRecorder``, unless
            ``APPLICATION_RECORDER_TOPIC`` names another SQLite application recorder.

        """
        recorder = super().application_recorder()
        if isinstance(recorder, PollingSQLiteApplicationRecorder):
            recorder.poll_interval = self.poll_interval
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        """Construct the process recorder, with this factory's poll interval.

        Returns:
            A ``PollingSQLiteProcessRecorder``, unless ``PROCESS_RECORDER_TOPIC``
            names another SQLite process recorder.

        """
        recorder = super().process_recorder()
        if isinstance(recorder, PollingSQLiteApplicationRecorder):
            recorder.poll_interval = self.poll_interval
        return recorder
