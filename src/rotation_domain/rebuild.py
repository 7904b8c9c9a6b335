"""Views rebuilt from zero with their documents in memory, changed in place (ADR 0013).

A view at position 0 has no rows: it is being rebuilt, or was just added to a program
that already has a log. The general catch-up (`runners.catch_up_views`) folds each
event into an overlay of the page's changes with a journal, so that a failing event's
partial changes can be undone, and hands every handler a copy of each document it
changes. A rebuild does not need that: if a view fails on an event, the view's rows of
the page are thrown away and it goes the general way from its last commit, where the
failure is recorded, retried or parked as usual.

So a view that says it may (``rebuilds_in_place = True``; the standard views do) is
rebuilt here over `BatchRows`: every document it wrote stays in memory as a dict, its
handlers change documents where they lie (`default_views._base.editable`), summary
counters are moved in place, and each page commits the rows it touched together with
the view's position, in one transaction, exactly as the general catch-up does. A
rebuild that dies redoes at most one page.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from eventsourcing.application import Application

from rotation_domain import gc_pause
from rotation_domain.consumers import (
    ConsumerStore,
    Doc,
    Envelope,
    PositionConflict,
    RowsReader,
    ViewCommit,
    scan_over,
)
from rotation_domain.log_pages import Progress, envelope_maker, pages_after
from rotation_domain.withholding import opened_per_topic

if TYPE_CHECKING:
    from rotation_domain.runners import ViewRunner

__all__ = ["PAGE_EVENTS", "ROW_LIMIT", "BatchRows", "rebuild_in_place", "rebuilds_in_place"]

logger = logging.getLogger(__name__)

PAGE_EVENTS = 100_000
"""The fewest events a page of an in-place rebuild holds (a larger ``page_size`` is kept).

Its documents stay in memory whatever the page, so a larger page costs only the time
a rebuild that dies redoes. A rebuild of a million events committing every 100,000
ran about 6% faster than committing every 50,000 (fewer rewrites of the same rows);
200,000 and 400,000 gained nothing more.
"""
ROW_LIMIT = 400_000
"""Rows a view keeps in memory while rebuilt; past it, the older half is forgotten."""


_ABSENT: Any = object()
"""What `BatchRows.docs` gives for a key it does not hold (None is a deleted row)."""


def rebuilds_in_place(runner: ViewRunner) -> bool:
    """Whether the runner's view lets its rebuild change documents in place."""
    return bool(getattr(runner.view, "rebuilds_in_place", False))


class BatchRows:
    """One view's rows during a rebuild: in memory, owned by the view, changed in place.

    `get` returns the document itself (read it, do not change it); `edit` returns it for
    the caller to change and `put` back, with nothing copied. A deleted row is
    remembered as None. The rows a page put or deleted are its changes (`take_changes`).
    Past ``limit`` rows, the older half of the committed ones is forgotten and read
    again from the store when needed, so memory stays bounded. Only the keys of the
    forgotten rows are kept: a key neither held nor forgotten has no row, so looking
    for a new thing never queries the store.
    """

    def __init__(self, below: RowsReader, *, limit: int | None = None) -> None:
        self.below = below
        self.limit = ROW_LIMIT if limit is None else limit
        self.docs: dict[str, Doc | None] = {}
        self.touched: set[str] = set()
        self.forgotten: set[str] = set()
        """The keys of the committed rows forgotten to bound memory (to read again)."""
        self.settling: dict[str, Callable[[], None]] = {}
        """Per key, work its writer left to do once before the page's changes are taken.

        A view whose summary rows add up its documents' contributions registers here the
        first time a page changes a document (`default_views._base.revise`), and moves
        the summaries once from the document's first state in the page to its last,
        instead of after every event (the summaries are read by queries only, never by
        the view's handlers, so no handler sees them lag within the page).
        """

    @property
    def complete(self) -> bool:
        """Whether every row is in `docs` (none forgotten, or all read back)."""
        return not self.forgotten

    def get(self, key: str) -> Doc | None:
        """The document under ``key`` (not a copy: do not change it), or None."""
        doc: Doc | None = self.docs.get(key, _ABSENT)
        if doc is not _ABSENT:
            return doc
        if key not in self.forgotten:
            return None
        found = self.below.get(key)
        self.docs[key] = found
        self.forgotten.discard(key)
        return found

    def edit(self, key: str) -> Doc:
        """The document under ``key`` (a new empty one when absent), to change and put back."""
        doc: Doc | None = self.docs.get(key, _ABSENT)
        if doc is _ABSENT:
            doc = self.get(key)
        return {} if doc is None else doc

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """The rows whose keys start with ``prefix``, ordered by key."""
        below = iter(()) if self.complete else self.below.scan(prefix)
        return scan_over(below, self.docs, prefix)

    def put(self, key: str, doc: Doc) -> None:
        """Set the document under ``key``."""
        self.docs[key] = doc
        self.touched.add(key)

    def delete(self, key: str) -> None:
        """Delete the row under ``key``."""
        self.docs[key] = None
        self.touched.add(key)

    def take_changes(self) -> dict[str, Doc | None]:
        """The rows put or deleted since the last call: what the page commits.

        The work registered in `settling` is done first, in the order it was registered.
        """
        while self.settling:
            settling, self.settling = self.settling, {}
            for settle in settling.values():
                settle()
        docs = self.docs
        changes = {key: docs[key] for key in sorted(self.touched)}
        self.touched = set()
        return changes

    def committed(self, changes: dict[str, Doc | None]) -> None:
        """After a page's commit: the rows written last go last; past the limit, forget half."""
        docs = self.docs
        for key, doc in changes.items():
            del docs[key]
            docs[key] = doc  # to the end: the rows written last are forgotten last
        if len(docs) > self.limit:
            for key in list(itertools.islice(docs, len(docs) // 2)):
                if docs.pop(key) is not None:  # a deleted row is not in the store: no read
                    self.forgotten.add(key)


Apply = Callable[[Envelope, Any], None]


class _Undecodable:
    """Stands for an event of the page the mapper could not decode (its position)."""

    __slots__ = ("position",)

    def __init__(self, position: int) -> None:
        self.position = position


def rebuild_in_place(
    app: Application[Any],
    store: ConsumerStore,
    runners: list[ViewRunner],
    progress: Progress | None,
    *,
    page_size: int,
) -> tuple[int, list[ViewRunner]]:
    """Fold the whole log into views at position 0 over `BatchRows`, a page a transaction.

    Returns the number of events read and the runners that must go on the general way:
    those whose view raised on an event (their rows of that page are not committed),
    or all of them when another runner moved a position first.

    The collector stays off for the whole rebuild: a page's documents are not garbage
    (ADR 0011), and each time it came back on between pages it walked every object the
    page had made (about a second in a million events, ADR 0016).
    """
    page_size = max(page_size, PAGE_EVENTS)
    folding = _Folding(app, store, runners)
    total = (app.recorder.max_notification_id() or 0) if progress is not None else 0
    position = done = 0
    with gc_pause.paused():
        while True:
            head = app.recorder.max_notification_id() or 0
            read, last = folding.page(position, page_size)
            done += read
            reached_end = read < page_size
            moved = max(last, head) if reached_end else last
            if not folding.commit(position, moved):
                logger.info("a view was moved by another runner; catching up the general way")
                return done, [*folding.failed, *folding.active.values()]
            position = moved
            if progress is not None:
                progress(min(total, position), total)
            if reached_end or not folding.active:
                return done, folding.failed


class _Folding:
    """The views of one in-place rebuild: their rows, which are still active, which failed."""

    def __init__(
        self, app: Application[Any], store: ConsumerStore, runners: list[ViewRunner]
    ) -> None:
        self.app = app
        self.store = store
        self.rows = {runner.name: BatchRows(store.reader(runner.name)) for runner in runners}
        self.applies: dict[str, Apply] = {runner.name: runner.view.apply for runner in runners}
        self.active = {runner.name: runner for runner in runners}
        self.failed: list[ViewRunner] = []
        self.topics = sorted(set().union(*(runner.view.topics for runner in runners)))
        self.opened, self.opened_otherwise = opened_per_topic(runner.view for runner in runners)

    def page(self, position: int, page_size: int) -> tuple[int, int]:
        """Fold up to ``page_size`` events after ``position``: (events read, last position).

        Each read of the log (`log_pages.READ_PAGE_SIZE` events) is decoded first, then
        each view is given its events of it in order, view after view: views are
        independent, so only each view's own order matters, and each loop stays on one
        piece of code (ADR 0016).
        """
        app, opened, otherwise = self.app, self.opened, self.opened_otherwise
        envelope_of = envelope_maker(app)
        wanting = _wanting(self.active.values())
        read, last = 0, position
        for notifications in pages_after(app, position, page_size, self.topics):
            read += len(notifications)
            last = notifications[-1].id
            given: dict[str, list[Envelope | _Undecodable]] = {name: [] for name in self.active}
            for notification in notifications:
                names = wanting.get(notification.topic)
                if not names:
                    continue
                envelope: Envelope | _Undecodable
                try:
                    envelope = envelope_of(notification, opened.get(notification.topic, otherwise))
                except Exception:  # noqa: BLE001 - recorded by the general way
                    envelope = _Undecodable(notification.id)
                for name in names:
                    given[name].append(envelope)
            for name, envelopes in given.items():
                failure = _fold(self.applies[name], envelopes, self.rows[name])
                if failure is not None:
                    logger.info(
                        "view %s failed on event %d while rebuilt in place (%s); "
                        "it goes on the general way",
                        name,
                        *failure,
                    )
                    self.failed.append(self.active.pop(name))
                    wanting = _wanting(self.active.values())
        return read, last

    def commit(self, position: int, moved: int) -> bool:
        """Commit the active views' rows of the page with their position; False on a conflict."""
        changes = {name: self.rows[name].take_changes() for name in self.active}
        commits = [
            ViewCommit(name, runner.view.version, {name: changes[name]}, position, moved)
            for name, runner in self.active.items()
            if moved != position
        ]
        if not commits:
            return True
        try:
            self.store.commit_views(commits)
        except PositionConflict:
            return False
        for name in self.active:
            self.rows[name].committed(changes[name])
        return True


def _fold(
    apply: Apply, envelopes: list[Envelope | _Undecodable], rows: BatchRows
) -> tuple[int, Exception] | None:
    """Apply each envelope in order; the position and error of the first that fails."""
    envelope: Any = None
    try:
        for envelope in envelopes:
            if envelope.__class__ is _Undecodable:
                raise LookupError(f"event {envelope.position} could not be decoded")
            apply(envelope, rows)
    except Exception as error:  # noqa: BLE001 - the general way records it
        return envelope.position, error
    return None


def _wanting(runners: Iterable[ViewRunner]) -> dict[str, list[str]]:
    """Per topic, the names of the active views that ask for it."""
    wanting: dict[str, list[str]] = {}
    for runner in runners:
        for wanted in runner.view.topics:
            wanting.setdefault(wanted, []).append(runner.name)
    return wanting
