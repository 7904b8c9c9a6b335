"""All the program's event consumers together: catch-up, rebuild and status.

In embedded mode (memory, SQLite) `Consumers.catch_up` runs after every command, so a
view read right after a command reflects it. In server mode (PostgreSQL) workers run
the same runners (``rotation worker``).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Recording

from rotation_domain.consumers import ConsumerStore, Envelope, Integration, View
from rotation_domain.inline_views import DEFAULT_COMMIT_DELAY, InlineViews
from rotation_domain.rebuild_processes import (
    Reopen,
    rebuild_in_processes,
    sample_weights,
    split,
)
from rotation_domain.runners import (
    PAGE_SIZE,
    REBUILD_PAGE_SIZE,
    IntegrationRunner,
    Progress,
    ViewRunner,
    catch_up_views,
    envelope_of,
)

__all__ = ["AppStateReader", "ConsumerStatus", "Consumers"]

logger = logging.getLogger(__name__)


@attrs.frozen
class ConsumerStatus:
    """Where one consumer stands.

    Attributes:
        name: The consumer's name.
        kind: ``view`` or ``integration``.
        plugin: The plugin that provided it.
        position: The last event it finished.
        lag: How many positions it is behind the head of the log.
        retrying: Events waiting for another attempt.
        parked: Events parked after their last attempt.
    """

    name: str
    kind: str
    plugin: str
    position: int
    lag: int
    retrying: int
    parked: int


class AppStateReader:
    """`StateReader` over an application's repository: copies, never the cached objects."""

    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self.lock: threading.RLock = threading.RLock()
        """Held while reading; a program shares its command lock (commands change the cache)."""

    def get(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """A copy of one aggregate, as of ``version`` (its current state without it)."""
        try:
            with self.lock:
                found: Any = self._app.repository.get(aggregate_id, version=version)
                return copy.deepcopy(found) if version is None else found
        except AggregateNotFoundError:
            raise KeyError(f"nothing recorded has id {aggregate_id}") from None

    def events(
        self, topics: frozenset[str] = frozenset(), *, after: int = 0, upto: int | None = None
    ) -> Iterator[Envelope]:
        """The recorded events with those topics, in log order, after ``after`` to ``upto``."""
        wanted = sorted(topics)
        while True:
            page = self._app.recorder.select_notifications(
                start=after, limit=PAGE_SIZE, stop=upto, topics=wanted, inclusive_of_start=False
            )
            for notification in page:
                yield envelope_of(self._app, notification)
            if len(page) < PAGE_SIZE:
                return
            after = page[-1].id


class Consumers:
    """The runners of every view and integration of one program."""

    def __init__(
        self,
        app: Application[Any],
        store: ConsumerStore,
        views: Sequence[tuple[str, View]] = (),
        integrations: Sequence[tuple[str, Integration]] = (),
        *,
        backoff_seconds: float = 1.0,
        views_commit_delay: float = DEFAULT_COMMIT_DELAY,
    ) -> None:
        self.app = app
        self.store = store
        self.views: dict[str, ViewRunner] = {}
        self.integrations: dict[str, IntegrationRunner] = {}
        self.plugin_of: dict[str, str] = {}
        for plugin, view in views:
            self._unique(view.name)
            self.views[view.name] = ViewRunner(app, store, view)
            self.plugin_of[view.name] = plugin
        self.inline = InlineViews(
            app, store, list(self.views.values()), commit_delay=views_commit_delay
        )
        self.state = AppStateReader(app)
        for plugin, integration in integrations:
            self._unique(integration.name)
            bind = getattr(integration, "bind", None)
            if callable(bind):
                bind(self.state)
            self.integrations[integration.name] = IntegrationRunner(
                app, store, integration, backoff_seconds=backoff_seconds
            )
            self.plugin_of[integration.name] = plugin

    def _unique(self, name: str) -> None:
        if name in self.plugin_of:
            raise ValueError(
                f"two consumers are named {name!r} (plugins {self.plugin_of[name]!r} and "
                "another); consumer names must be unique"
            )

    def catch_up(self) -> None:
        """Bring every consumer up to the head of the log; a failing one never stops the rest."""
        self.catch_up_views()
        self.catch_up_integrations()

    def catch_up_views(self) -> None:
        """Bring every view up to the head of the log, in one pass."""
        try:
            self.inline.catch_up()
        except Exception:
            self.inline.forget()
            logger.exception("the views could not catch up")

    def commit_views(self) -> None:
        """Commit the rows the views folded after recent commands and have not committed.

        Every read of a view in this process does it first, so a read right after a
        command sees what the command changed.
        """
        self.inline.commit()

    def after_command(self, recordings: list[Recording[Any]]) -> None:
        """After a command in embedded mode: its events into the views, then integrations."""
        try:
            self.inline.after_command(recordings)
        except Exception:
            self.inline.forget()
            logger.exception("the views could not catch up")
        self.catch_up_integrations()

    def after_command_integrations(self, recordings: list[Recording[Any]]) -> None:
        """After a command when views catch up on read: only the integrations."""
        del recordings
        self.catch_up_integrations()

    def catch_up_integrations(self) -> None:
        """Deliver what is due to every integration; a failing one never stops the rest."""
        for runner in self.integrations.values():
            try:
                runner.catch_up()
            except Exception:
                logger.exception("consumer %s could not catch up", runner.name)

    def rebuild(
        self,
        view: str | None = None,
        progress: Progress | None = None,
        *,
        workers: int = 1,
        reopen: Reopen | None = None,
    ) -> int:
        """Drop a view's rows and position (every view's without a name) and replay the log.

        With ``workers`` above 1 and a ``reopen`` recipe, the views are shared among up to
        that many processes, this one included (`rotation_domain.rebuild_processes`).
        Integrations are never re-fired by a rebuild. Returns the number of processes.
        """
        names = [view] if view is not None else list(self.views)
        for name in names:
            if name not in self.views:
                known = ", ".join(sorted(self.views)) or "none"
                raise KeyError(f"no view is named {name!r} (known: {known})")
        self.inline.commit()  # the views not rebuilt keep what they folded
        self.inline.forget()
        runners = [self.views[name] for name in names]
        groups = [runners]
        if workers > 1 and reopen is not None and len(runners) > 1:
            unsendable = reopen.unsendable()
            if unsendable is None:
                groups = split(runners, sample_weights(self.app, runners), workers)
            else:
                logger.info("the rebuild stays in this process: %s", unsendable)
        with self.store.bulk_writes():
            self.store.reset_views(names)
            if len(groups) > 1 and reopen is not None:
                return rebuild_in_processes(self.app, self.store, groups, reopen, progress)
            catch_up_views(self.app, self.store, runners, progress, page_size=REBUILD_PAGE_SIZE)
        return 1

    def status(self) -> list[ConsumerStatus]:
        """Every consumer's position, lag and failures."""
        self.inline.commit()
        head = self.app.recorder.max_notification_id() or 0
        rows = []
        kinds: list[tuple[str, dict[str, ViewRunner] | dict[str, IntegrationRunner]]] = [
            ("view", self.views),
            ("integration", self.integrations),
        ]
        for kind, runners in kinds:
            for name in runners:
                position = self.store.position(name)
                failures = self.store.failures(name)
                rows.append(
                    ConsumerStatus(
                        name=name,
                        kind=kind,
                        plugin=self.plugin_of[name],
                        position=position,
                        lag=max(0, head - position),
                        retrying=sum(1 for f in failures if f.status == "retrying"),
                        parked=sum(1 for f in failures if f.status == "parked"),
                    )
                )
        return rows

    def close(self) -> None:
        """Commit what the views folded, then release the store's connections."""
        self.inline.close()
        self.store.close()
