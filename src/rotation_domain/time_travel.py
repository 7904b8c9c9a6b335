"""Time travel: the program's read models and aggregates as they were known at a past moment.

``program.as_of(moment)`` gives a `ProgramAsOf`. Its ``views`` answer the same queries
as ``program.views``, from rows folded in memory over the events recorded up to that
moment (or log position): ``program.as_of(march_1st).views.capacity(on=march_15th)``
says who was away on 15 March *as the program knew it on 1 March*. Nothing is written:
the view's own ``apply`` runs over the events into a dict, and its ``query`` reads it.

An event belongs to the past moment when it was recorded at or before it (its
``timestamp``) and, if a position is given, when it is at or before that position.
The fold reads only the view's topics, a page at a time; memory holds the view's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from rotation_domain.audit import PAGE_SIZE
from rotation_domain.consumers import Doc, View
from rotation_domain.errors import InvalidInput, UnknownId
from rotation_domain.runners import envelope_of
from rotation_domain.view_queries import BoundView

if TYPE_CHECKING:
    from rotation_domain.audit import AuditQueries

__all__ = ["DictRows", "ProgramAsOf", "ViewsAsOf", "fold_view"]


class DictRows:
    """A view's rows in a dict (the `Rows` protocol), for folds that are never stored."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}

    def get(self, key: str) -> Doc | None:
        """The document under ``key``, or None."""
        return self.docs.get(key)

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        """Every (key, document) whose key starts with ``prefix``, ordered by key."""
        keys = sorted(k for k in self.docs if k.startswith(prefix))
        return ((k, self.docs[k]) for k in keys)

    def put(self, key: str, doc: Doc) -> None:
        """Store ``doc`` under ``key``."""
        self.docs[key] = doc

    def delete(self, key: str) -> None:
        """Remove the row under ``key``, if any."""
        self.docs.pop(key, None)


def fold_view(
    app: Any, view: View, *, at: datetime | None = None, position: int | None = None
) -> DictRows:
    """Fold ``view`` over the events recorded by ``at`` and up to ``position``.

    Args:
        app: The eventsourcing application whose log is read.
        view: The view; its ``apply`` is called as its runner would call it.
        at: Only events recorded at or before this moment (time-zone aware).
        position: Only events at or before this log position.

    Returns:
        The rows the view would have held then.
    """
    rows = DictRows()
    topics = sorted(view.topics)
    after = 0
    while True:
        page = app.recorder.select_notifications(
            start=after, limit=PAGE_SIZE, stop=position, topics=topics, inclusive_of_start=False
        )
        for notification in page:
            envelope = envelope_of(app, notification)
            if at is None or envelope.event.timestamp <= at:
                view.apply(envelope, rows)
        if len(page) < PAGE_SIZE:
            return rows
        after = page[-1].id


class ViewsAsOf:
    """``program.as_of(moment).views``: each view, folded up to that moment on first use."""

    def __init__(self, past: ProgramAsOf) -> None:
        self._past = past
        self._folded: dict[str, DictRows] = {}

    def names(self) -> list[str]:
        """The names of the views that can be asked."""
        return sorted(self._past.program.consumers.views)

    def __getattr__(self, name: str) -> BoundView:
        past: ProgramAsOf | None = self.__dict__.get("_past")
        if past is None:
            raise AttributeError(name)
        runners = past.program.consumers.views
        if name not in runners:
            known = ", ".join(sorted(runners)) or "none"
            raise AttributeError(f"no view is named {name!r} (known: {known})")
        view = runners[name].view
        folded = self.__dict__["_folded"]
        if name not in folded:
            folded[name] = fold_view(past.program.app, view, at=past.at, position=past.position)
        return BoundView(view, folded[name])


class ProgramAsOf:
    """The program as it knew things at a past moment and/or log position.

    Attributes:
        at: The moment (time-zone aware), or None.
        position: The last log position included, or None.
        views: The read models as they were then (see `ViewsAsOf`).
    """

    def __init__(
        self, program: AuditQueries, *, at: datetime | None = None, position: int | None = None
    ) -> None:
        if at is None and position is None:
            raise InvalidInput("as_of needs a moment (at=) or a log position (position=)")
        if position is not None and (not isinstance(position, int) or position < 0):
            raise InvalidInput(f"position must be a non-negative integer, got {position!r}")
        self.program = program
        self.at = at
        self.position = position
        self.views = ViewsAsOf(self)

    def state(self, aggregate_id: Any) -> Aggregate:
        """One aggregate as it was then.

        Raises:
            UnknownId: nothing with that id had been recorded by then.
        """
        version = None
        for entry in self.program.history(aggregate_id):
            if self.position is not None and entry.position > self.position:
                break
            if self.at is None or entry.recorded_at <= self.at:
                version = entry.aggregate_version
        if version is None:
            raise UnknownId(f"nothing with id {aggregate_id} had been recorded by then")
        return self.program.state_at(aggregate_id, version=version)
