"""Running the plugins' periodic tasks: each every ``interval_seconds``, failures isolated."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from rotation_domain.consumers import PeriodicTask

__all__ = ["PeriodicTasks", "TaskRun"]

logger = logging.getLogger(__name__)


@attrs.frozen
class TaskRun:
    """What one run of a periodic task gave.

    Attributes:
        name: The task's name.
        plugin: The plugin that provided it.
        result: What the task returned (None if it failed).
        error: Why it failed (``Type: message``), or None.
    """

    name: str
    plugin: str
    result: object = None
    error: str | None = None


class PeriodicTasks:
    """The periodic tasks of one program, with when each last ran in this process."""

    def __init__(
        self,
        tasks: Sequence[tuple[str, PeriodicTask]] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tasks: dict[str, tuple[str, PeriodicTask]] = {}
        for plugin, task in tasks:
            if task.name in self.tasks:
                raise ValueError(
                    f"two periodic tasks are named {task.name!r} (plugins "
                    f"{self.tasks[task.name][0]!r} and {plugin!r}); task names must be unique"
                )
            self.tasks[task.name] = (plugin, task)
        self._clock = clock
        self._next_due: dict[str, float] = {}

    def due(self, name: str) -> bool:
        """Whether the task has not run in this process for its interval."""
        return self._clock() >= self._next_due.get(name, float("-inf"))

    def run(self, name: str, program: Any, now: datetime | None = None) -> TaskRun:
        """Run one task now, whether or not it is due; a failure is reported, not raised."""
        plugin, task = self.tasks[name]
        self._next_due[name] = self._clock() + float(task.interval_seconds)
        try:
            result = task.run(program, now or datetime.now(UTC))
        except Exception as error:  # a failing task never stops the others
            logger.exception("periodic task %s failed", name)
            return TaskRun(name, plugin, error=f"{type(error).__name__}: {error}"[:2000])
        return TaskRun(name, plugin, result=result)

    def run_due(self, program: Any, now: datetime | None = None) -> list[TaskRun]:
        """Run every task that is due, by name."""
        return [self.run(name, program, now) for name in sorted(self.tasks) if self.due(name)]
