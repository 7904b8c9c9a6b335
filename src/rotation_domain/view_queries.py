"""``program.views``: the read models, answered from their own rows."""

from __future__ import annotations

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

    def __init__(self, view: Any, reader: RowsReader) -> None:
        self._view = view
        self._reader = reader

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the view's ``query`` with these arguments."""
        return self._view.query(self._reader, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.__dict__["_view"], f"query_{name}", None)
        if method is None:
            method = getattr(self.__dict__["_view"], name, None)
            if not callable(method) or name in ("apply", "query"):
                raise AttributeError(f"view {self._view.name!r} has no query named {name!r}")
        reader = self.__dict__["_reader"]
        return lambda *args, **kwargs: method(reader, *args, **kwargs)


class ViewQueries:
    """Ask a read model: ``program.views.participation("2027")``.

    Each attribute is a view (by its name) bound to the view's committed rows; a
    plugin's own views are reached the same way.
    """

    def __init__(self, consumers: Consumers) -> None:
        self._consumers = consumers

    def names(self) -> list[str]:
        """The names of the views that can be asked."""
        return sorted(self._consumers.views)

    def __getattr__(self, name: str) -> BoundView:
        runners = self.__dict__.get("_consumers")
        if runners is None or name not in runners.views:
            known = ", ".join(sorted(runners.views)) if runners else "none"
            raise AttributeError(f"no view is named {name!r} (known: {known})")
        return BoundView(runners.views[name].view, runners.store.reader(name))
