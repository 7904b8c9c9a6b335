"""An example plugin for rotation-domain: observations by host department, and a veto.

Installed, it loads in every program through its entry point (group ``rotation_domain``,
name ``example``) and provides:

- the view ``observations_by_department``: the problems participants observed (R7) in
  each host department, oldest first: ``program.views.observations_by_department("FIN")``,
  or every department at once with ``program.views.observations_by_department.all()``;
- a company rule, off unless the environment variable ``ROTATION_EXAMPLE_WEEKDAY_STARTS``
  is ``1``: a rotation may not start (its participant's arrival) on a Saturday or a Sunday.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import quote, unquote

from rotation_domain.consumers import Envelope, Rows, RowsReader, View, key_for
from rotation_domain.hookspecs import hookimpl

__all__ = [
    "WEEKDAY_STARTS",
    "ObservationsByDepartment",
    "rotation_validate_command",
    "rotation_views",
]

WEEKDAY_STARTS = "ROTATION_EXAMPLE_WEEKDAY_STARTS"
"""The environment variable that turns the weekday-start rule on (``1``)."""

_PLANNED = "rotation_domain:RotationPlanned"
_OBSERVED = "rotation_domain:ObservationRecorded"


class ObservationsByDepartment:
    """The observations recorded during rotations, by the rotations' host department.

    Rows: ``rotation/<id>`` remembers each rotation's host (an observation names only its
    rotation), and ``observation/<host>/<position>`` holds each observation, so that one
    department's are a prefix scan, in the order they were recorded.
    """

    name = "observations_by_department"
    version = 1
    topics = frozenset({_PLANNED, _OBSERVED})
    personal_fields = frozenset({"text"})  # the observation's text; nothing else personal

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        """Remember a rotation's host, or file an observation under it."""
        event = envelope.event
        rotation = str(envelope.originator_id)
        if envelope.topic == _PLANNED:
            rows.put(key_for("rotation", rotation), {"host": event.host_department})
            return
        planned = rows.get(key_for("rotation", rotation))
        if planned is None:  # pragma: no cover - a rotation is planned before it is observed
            raise LookupError(f"observation on rotation {rotation}, which was never planned")
        day: date | None = event.on
        rows.put(
            key_for("observation", quote(planned["host"], safe=""), envelope.position),
            {
                "text": event.text,
                "on": day.isoformat() if day is not None else None,
                "by": envelope.actor,
                "rotation": rotation,
            },
        )

    def query(self, reader: RowsReader, department: str) -> tuple[str, ...]:
        """The texts of the observations made in ``department``, oldest first.

        Args:
            reader: The view's rows.
            department: The host department's code.
        """
        prefix = key_for("observation", quote(department, safe=""), "")
        return tuple(doc["text"] for _, doc in reader.scan(prefix))

    def query_all(self, reader: RowsReader) -> dict[str, tuple[str, ...]]:
        """Every department's observation texts, by department code, oldest first.

        Args:
            reader: The view's rows.
        """
        found: dict[str, list[str]] = {}
        for key, doc in reader.scan(key_for("observation", "")):
            department = unquote(key.split("/")[1])
            found.setdefault(department, []).append(doc["text"])
        return {department: tuple(texts) for department, texts in sorted(found.items())}


@hookimpl
def rotation_views(settings: Mapping[str, str]) -> Sequence[View]:
    """Provide the ``observations_by_department`` view.

    Args:
        settings: The program's settings (this view takes none).
    """
    return [ObservationsByDepartment()]


@hookimpl
def rotation_validate_command(action: str, actor: str, context: Mapping[str, Any]) -> str | None:
    """Refuse to start a rotation on a weekend, when ``ROTATION_EXAMPLE_WEEKDAY_STARTS=1``.

    Args:
        action: The command's name.
        actor: Who runs it.
        context: What the command names; for ``start_rotation``, the ``rotation`` as the
            command left it, so ``started_on`` is the arrival day.

    Returns:
        Why the command is refused, or None.
    """
    if action != "start_rotation" or os.environ.get(WEEKDAY_STARTS, "").strip() != "1":
        return None
    day: date | None = context["rotation"].started_on
    if day is None or day.weekday() < 5:
        return None
    return f"rotations start on a weekday, and {day.isoformat()} is a {day:%A}"
