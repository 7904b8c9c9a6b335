"""``program.views``: the read models, answered from their own rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rotation_domain.consumers import RowsReader
from rotation_domain.event_consumers import Consumers

__all__ = ["BoundView", "ViewQueries"]


class BoundView:
    """One view bound to its committed rows.

    Calling it runs the view's ``query``; its other ``query_*`` methods are reached as
    attributes without the prefix: ``program.views.capacity.range(start, end)`` calls
    ``query_range``.
    """

    def __init__(
        self, view: Any, reader: RowsReader, catch_up: Callable[[], None] | None = None
    ) -> None:
        self._view = view
        self._reader = reader
        self._catch_up = catch_up

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the view's ``query`` with these arguments."""
        if self._catch_up is not None:
            self._catch_up()
        return self._view.query(self._reader, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.__dict__["_view"], f"query_{name}", None)
        if method is None:
            method = getattr(self.__dict__["_view"], name, None)
            if not callable(method) or name in ("apply", "query"):
                raise AttributeError(f"view {self._view.name!r} has no query named {name!r}")
        reader, catch_up = self.__dict__["_reader"], self.__dict__["_catch_up"]

        def query(*args: Any, **kwargs: Any) -> Any:
            if catch_up is not None:
                catch_up()
            return method(reader, *args, **kwargs)

        return query


class ViewQueries:
    """Ask a read model: ``program.views.participation("2027")``.

    Each attribute is a view (by its name) bound to the view's committed rows; a
    plugin's own views are reached the same way.
    """

    def __init__(self, consumers: Consumers, *, catch_up: Callable[[], None] | None = None) -> None:
        self._consumers = consumers
        self._catch_up = catch_up

    def names(self) -> list[str]:
        """The names of the views that can be asked."""
        return sorted(self._consumers.views)

    def __getattr__(self, name: str) -> BoundView:
        runners = self.__dict__.get("_consumers")
        if runners is None or name not in runners.views:
            known = ", ".join(sorted(runners.views)) if runners else "none"
            raise AttributeError(f"no view is named {name!r} (known: {known})")
        catch_up = self.__dict__.get("_catch_up")
        return BoundView(runners.views[name].view, runners.store.reader(name), catch_up)
