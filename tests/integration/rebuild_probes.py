"""Plugins for the tests of a rebuild shared among processes (`test_rebuild_processes`).

A worker process of a rebuild imports this module by name (it is given as a module to
`open_program`), so the views here behave differently in a worker: the environment
variable `rebuild_processes.WORKER_VARIABLE` is set there.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from rotation_domain import hookimpl
from rotation_domain.consumers import Envelope, Rows
from rotation_domain.default_views._base import HandlerView, editable
from rotation_domain.rebuild_processes import WORKER_VARIABLE

KILL_VARIABLE = "ROTATION_TEST_KILL_WORKER"
"""When set, the ``planned`` view kills the worker process that folds it."""
PARENT_ONLY_VARIABLE = "ROTATION_TEST_PARENT_ONLY"
"""When set, a worker process has no ``planned`` view (its plugin gives none there)."""


class Planned(HandlerView):
    """Counts the rotations planned per host department."""

    name = "planned"

    def __init__(self) -> None:
        self.handlers = {"rotation_domain:RotationPlanned": self._planned}
        self.topics = frozenset(self.handlers)

    def _planned(self, envelope: Envelope, rows: Rows) -> None:
        if os.environ.get(WORKER_VARIABLE) and os.environ.get(KILL_VARIABLE):
            os.kill(os.getpid(), signal.SIGKILL)
        key = f"host/{envelope.event.host_department}"
        doc = editable(rows, key)
        doc["planned"] = doc.get("planned", 0) + 1
        rows.put(key, doc)


@hookimpl
def rotation_views(settings: Any) -> list[Planned]:
    """The ``planned`` view, except in a worker when `PARENT_ONLY_VARIABLE` is set."""
    if os.environ.get(WORKER_VARIABLE) and os.environ.get(PARENT_ONLY_VARIABLE):
        return []
    return [Planned()]
