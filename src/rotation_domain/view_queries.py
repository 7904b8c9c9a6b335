"""``program.views``: the read models, answered from their own rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rotation_domain.event_consumers import Consumers

__all__ = ["ViewQueries"]


class ViewQueries:
    """Ask a read model: ``program.views.participation("2027")``.

    Each attribute is a view's ``query`` method bound to the view's committed rows; a
    plugin's own views are reached the same way, by their name.
    """

    def __init__(self, consumers: Consumers) -> None:
        self._consumers = consumers

    def names(self) -> list[str]:
        """The names of the views that can be asked."""
        return sorted(self._consumers.views)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        runners = self.__dict__.get("_consumers")
        if runners is None or name not in runners.views:
            known = ", ".join(sorted(runners.views)) if runners else "none"
            raise AttributeError(f"no view is named {name!r} (known: {known})")
        view = runners.views[name].view
        reader = runners.store.reader(name)
        query: Callable[..., Any] = getattr(view, "query")  # noqa: B009 - views are protocols
        return lambda *args, **kwargs: query(reader, *args, **kwargs)
