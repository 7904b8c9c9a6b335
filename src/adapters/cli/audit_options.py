"""How the audit commands read their arguments: moments, aggregate ids and the filters.

`a_moment` is shared with the ``--as-of`` option of `adapters.cli.views`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import click

from rotation_domain import Department, Employee, InvalidInput, MonthRoster
from rotation_domain.audit import AuditFilter
from rotation_domain.program import PROGRAM_ID

__all__ = ["a_moment", "aggregate_of", "criteria_of", "filter_options"]

F = TypeVar("F", bound=Callable[..., Any])

_BY_CODE: dict[str, Callable[[str], UUID]] = {
    "employee": Employee.id_for,
    "department": Department.id_for,
    "roster": MonthRoster.id_for,
}


def a_moment(name: str, value: str | None) -> datetime | None:
    """A recorded moment from the command line: ISO date or date-time, UTC without a zone.

    A date alone is its midnight (UTC), the start of that day.

    Raises:
        InvalidInput: the text is not an ISO date or date-time.
    """
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO date or date-time such as 2027-03-01 or "
            f"2027-03-01T09:30:00+01:00, got {value!r}",
            field=name,
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def aggregate_of(ref: str) -> UUID:
    """The aggregate id that ``ref`` names.

    ``ref`` is a UUID, ``employee:CODE``, ``department:CODE``, ``roster:YYYY-MM`` or
    ``program``.

    Raises:
        InvalidInput: ``ref`` is none of these.
    """
    if ref == "program":
        return PROGRAM_ID
    kind, colon, key = ref.partition(":")
    if colon:
        if kind not in _BY_CODE or not key:
            raise InvalidInput(
                f"{ref!r} names no aggregate: use an id, employee:CODE, department:CODE, "
                "roster:YYYY-MM or program",
                id=ref,
            )
        return _BY_CODE[kind](key)
    try:
        return UUID(ref)
    except ValueError:
        raise InvalidInput(
            f"{ref!r} is not an id: use an id (a UUID), employee:CODE, department:CODE, "
            "roster:YYYY-MM or program",
            id=ref,
        ) from None


def filter_options(command: F) -> F:
    """Add the timeline filters (``--actor``, ``--employee``, ``--since``...) to a command."""
    options = (
        click.option("--actor", metavar="ACTOR", help="Only what this actor did."),
        click.option(
            "--employee", metavar="CODE", help="Only what concerns this employee (docs/audit.md)."
        ),
        click.option(
            "--since",
            metavar="DATETIME",
            help="Only events recorded at or after this moment (ISO; UTC without a zone).",
        ),
        click.option("--until", metavar="DATETIME", help="Only events recorded before it."),
        click.option(
            "--type",
            "event_types",
            metavar="EVENT",
            multiple=True,
            help="Only this event type, such as RotationPlanned (repeat for more).",
        ),
        click.option(
            "--aggregate", metavar="ID", help="Only this aggregate's events (as history)."
        ),
        click.option("--after", type=click.IntRange(min=0), default=0, metavar="POSITION"),
        click.option("--upto", type=click.IntRange(min=0), metavar="POSITION"),
    )
    for option in reversed(options):
        command = option(command)
    return command


def criteria_of(filters: dict[str, Any]) -> dict[str, Any]:
    """The program's timeline arguments from the parsed filter options, checked."""
    criteria = {
        "actor": filters["actor"],
        "employee": filters["employee"],
        "since": a_moment("--since", filters["since"]),
        "until": a_moment("--until", filters["until"]),
        "event_types": tuple(filters["event_types"]),
        "aggregate": aggregate_of(filters["aggregate"]) if filters["aggregate"] else None,
        "after": filters["after"],
        "upto": filters["upto"],
    }
    AuditFilter.of(**criteria)  # refuses a bad value before the store is opened
    return criteria
